"""The label aggregation engine: raw labels in, immutable label-set versions out.

- ``severity``: ``severity_aggregate`` (votes -> severity label set + agreement report);
- ``endpoints``: ``endpoint_aggregate`` (end-point marks -> end-point label set);
- ``evaluation``: ``labels_evaluate`` (label sets of a synthetic dataset vs its hidden truth);
- ``label_sets``: the one-transaction writes and ``label_set_set_current``;
- ``parts``: split runs (one part per error type over Celery workers);
- ``compute``: the numbers per error type (no Django); ``inputs``: COPY readers.

``docs/aggregation.md`` is the user guide.
"""
from annotation.services.aggregation.compute import METHODS, SeverityParams
from annotation.services.aggregation.endpoints import endpoint_aggregate
from annotation.services.aggregation.evaluation import labels_evaluate
from annotation.services.aggregation.label_sets import label_set_set_current
from annotation.services.aggregation.severity import SPLIT_CHOICES, severity_aggregate

__all__ = ["METHODS", "SPLIT_CHOICES", "SeverityParams", "endpoint_aggregate", "label_set_set_current",
           "labels_evaluate", "severity_aggregate"]
