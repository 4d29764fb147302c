"""Writes of the kg app, one module per topic:

- ``graph``: loading the FLEX graph (``graph_load``) and the compiled graph used for scoring;
- ``two_stage``: stage-1 sets, stage-2 reviews, a sample's state;
- ``label_sets``: the ``score_flex`` computation and the current label set;
- ``feedback``: curated feedback texts and a sample's feedback;
- ``agreement``: Krippendorff's alpha per action and error type;
- ``synthetic``: the FLEX-like demo dataset (``flex_demo_create``).
"""
