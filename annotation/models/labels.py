"""Raw labels. No job ever changes these rows; aggregations write label sets instead."""
from django.conf import settings
from django.db import models

from datasets.models import Clip, ErrorType, Repetition


class EndPointMark(models.Model):
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="end_point_marks")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    frame = models.PositiveIntegerField()
    client_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clip", "annotator", "frame"], name="end_point_mark_unique_frame"
            ),
        ]
        indexes = [models.Index(fields=["clip", "annotator"])]


class SeverityVote(models.Model):
    # No single-column index on repetition (the unique constraint below starts with it) nor on
    # error_type (nothing reads votes by error type alone: aggregation reads them all, and only
    # deleting an error type looks them up that way). At ~9 M rows each index costs ~20 s of
    # every bulk import; annotator keeps its index ("my votes" listings).
    repetition = models.ForeignKey(Repetition, on_delete=models.CASCADE, related_name="votes", db_index=False)
    error_type = models.ForeignKey(ErrorType, on_delete=models.PROTECT, related_name="votes", db_index=False)
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    value = models.SmallIntegerField()
    client_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repetition", "error_type", "annotator"], name="severity_vote_one_per_annotator"
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=0, value__lte=3), name="severity_vote_value_0_3"
            ),
        ]


class IdempotencyRecord(models.Model):
    """The answer given to one client key, so a retried submission returns it unchanged.

    Written in the same transaction as the labels it records: either both exist or neither.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    scope = models.CharField(max_length=32)
    request_hash = models.CharField(max_length=64)
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key"),
        ]


class ErrorSegment(models.Model):
    """A time interval of one error type in a clip (Fitness-AQA style), in frames of the clip."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="error_segments")
    error_type = models.ForeignKey(ErrorType, on_delete=models.PROTECT, related_name="segments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    start_frame = models.PositiveIntegerField()
    end_frame = models.PositiveIntegerField()
    client_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(end_frame__gte=models.F("start_frame")),
                                   name="error_segment_ordered"),
        ]
        indexes = [models.Index(fields=["clip", "annotator"])]


class FeedbackNote(models.Model):
    """A timestamped coaching line (QEVD style), at a frame of the clip. Stored as plain text."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="feedback_notes")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    frame = models.PositiveIntegerField()
    text = models.TextField(max_length=2000)
    client_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["clip", "annotator"])]
