from datasets.models.catalog import Dataset, ErrorType, Exercise, Participant
from datasets.models.clips import Clip, Repetition
from datasets.models.splits import (
    FrozenError, ImportRecord, RepetitionSpan, SplitExport, SplitMembership, SplitVersion,
)
from datasets.models.truth import AnnotatorProfile, ClipTruth, TrueSeverity

__all__ = [
    "AnnotatorProfile",
    "Clip",
    "ClipTruth",
    "Dataset",
    "ErrorType",
    "Exercise",
    "FrozenError",
    "ImportRecord",
    "Participant",
    "Repetition",
    "RepetitionSpan",
    "SplitExport",
    "SplitMembership",
    "SplitVersion",
    "TrueSeverity",
]
