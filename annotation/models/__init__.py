from annotation.models.assignments import Assignment
from annotation.models.labels import EndPointMark, IdempotencyRecord, SeverityVote

__all__ = ["Assignment", "EndPointMark", "IdempotencyRecord", "SeverityVote"]
