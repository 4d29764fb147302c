from annotation.models.assignments import Assignment
from annotation.models.labels import EndPointMark, ErrorSegment, FeedbackNote, IdempotencyRecord, SeverityVote

__all__ = ["Assignment", "EndPointMark", "ErrorSegment", "FeedbackNote", "IdempotencyRecord", "SeverityVote"]
from annotation.models.label_sets import (  # noqa: E402  (label-set versions, agreement reports)
    AgreementReport, AggregationPart, AnnotatorAgreement, EndPointLabel, ErrorTypeAgreement, LabelSet, LabelSetRanking,
    SeverityLabel,
)

__all__ += ["AgreementReport", "AggregationPart", "AnnotatorAgreement", "EndPointLabel", "ErrorTypeAgreement",
            "LabelSet", "LabelSetRanking", "SeverityLabel"]
