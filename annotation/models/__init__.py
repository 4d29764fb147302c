from annotation.models.assignments import Assignment
from annotation.models.labels import EndPointMark, ErrorSegment, FeedbackNote, IdempotencyRecord, SeverityVote

__all__ = ["Assignment", "EndPointMark", "ErrorSegment", "FeedbackNote", "IdempotencyRecord", "SeverityVote"]
