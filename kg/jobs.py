"""Job kinds of the kg app."""
from rest_framework import serializers

from tasks.registry import job_kind


class ScoreFlexParams(serializers.Serializer):
    graph_version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, default=None,
        help_text="Graph version number to score with; default the current one.",
    )
    make_current = serializers.BooleanField(
        default=True, help_text="Make the new label set the dataset's current one (the first one always is).",
    )


@job_kind("score_flex", params=ScoreFlexParams, role="curator",
          description="FLEX two-stage proposal, final slot sets and scores for every sample: a new label set.")
def score_flex(*, job, progress, graph_version=None, make_current=True):
    from kg.selectors import graph_version_get
    from kg.services.label_sets import flex_label_set_compute, flex_label_set_result

    version = graph_version_get(number=graph_version)
    label_set = flex_label_set_compute(dataset=job.dataset, graph_version=version, make_current=make_current,
                                       user=job.launched_by, job=job, progress=progress.update)
    return flex_label_set_result(label_set)
