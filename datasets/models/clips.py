"""Clips, their stored arrays, and the repetitions labels are attached to."""
from django.db import models

from datasets.models.catalog import Dataset, Exercise, Participant


def pose_upload_to(instance, filename):
    # Named by content, never by a client-supplied name: no path tricks, and equal arrays share a file.
    digest = instance.content_hash
    return f"pose/{instance.dataset_id}/{digest[:2]}/{digest}.npy"


def video_upload_to(instance, filename):
    digest = instance.content_hash or "nohash"
    return f"video/{instance.dataset_id}/{digest[:2]}/{digest}"


class Clip(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="clips")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="clips", null=True, blank=True
    )
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="clips")
    external_id = models.CharField(max_length=255)
    source = models.CharField(max_length=64, blank=True)
    fps = models.FloatField(default=30.0)
    frame_count = models.PositiveIntegerField()
    pose_file = models.FileField(upload_to=pose_upload_to, max_length=255, blank=True)
    video_file = models.FileField(upload_to=video_upload_to, max_length=255, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "external_id"], name="clip_unique_external_id"),
            models.CheckConstraint(condition=models.Q(fps__gt=0), name="clip_fps_positive"),
        ]
        indexes = [models.Index(fields=["dataset", "exercise"]), models.Index(fields=["participant"])]

    def __str__(self):
        return self.external_id


class Repetition(models.Model):
    """One repetition of a clip. Its start and end frames come from label sets, not from here."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="repetitions")
    index = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["clip_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["clip", "index"], name="repetition_unique_index"),
        ]

    def __str__(self):
        return f"{self.clip_id}#{self.index}"
