from kg.models.feedback import FEEDBACK_MAX_CHARS, FeedbackText
from kg.models.graph import (
    GraphAction,
    GraphErrorType,
    GraphKeystep,
    GraphPhase,
    GraphRow,
    GraphRowKeystep,
    GraphSlot,
    GraphVersion,
)
from kg.models.label_sets import FlexLabelSet, FlexSampleLabel
from kg.models.labels import FlexReview, FlexStage1Set
from kg.models.truth import FlexTrueSlots

__all__ = [
    "FEEDBACK_MAX_CHARS",
    "FeedbackText",
    "FlexLabelSet",
    "FlexReview",
    "FlexSampleLabel",
    "FlexStage1Set",
    "FlexTrueSlots",
    "GraphAction",
    "GraphErrorType",
    "GraphKeystep",
    "GraphPhase",
    "GraphRow",
    "GraphRowKeystep",
    "GraphSlot",
    "GraphVersion",
]
