"""REST views of the kg app (mounted under ``/api/kg/``), one module per topic: the graph and
scoring, samples and the two annotation stages, label sets and agreement, feedback texts. Each view
validates, fetches through a selector, calls one service and answers through its serializer."""
from kg.apis.feedback import FeedbackTextCreateApi, FeedbackTextHistoryApi, FeedbackTextListApi
from kg.apis.graph import KgActionDetailApi, KgActionListApi, KgErrorTypeListApi, KgGraphVersionListApi, KgScoreApi
from kg.apis.label_sets import (
    FlexAgreementApi,
    FlexLabelSetDetailApi,
    FlexLabelSetListApi,
    FlexLabelSetMakeCurrentApi,
    FlexLabelSetSampleListApi,
)
from kg.apis.samples import (
    FlexReviewDetailApi,
    FlexSampleDetailApi,
    FlexSampleFeedbackApi,
    FlexSampleTruthApi,
    FlexStage1SubmitApi,
    FlexStage2SubmitApi,
)

__all__ = [
    "FeedbackTextCreateApi", "FeedbackTextHistoryApi", "FeedbackTextListApi", "FlexAgreementApi",
    "FlexLabelSetDetailApi", "FlexLabelSetListApi", "FlexLabelSetMakeCurrentApi", "FlexLabelSetSampleListApi",
    "FlexReviewDetailApi", "FlexSampleDetailApi", "FlexSampleFeedbackApi", "FlexSampleTruthApi",
    "FlexStage1SubmitApi", "FlexStage2SubmitApi", "KgActionDetailApi", "KgActionListApi", "KgErrorTypeListApi",
    "KgGraphVersionListApi", "KgScoreApi",
]
