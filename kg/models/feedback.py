"""Corrective feedback texts per error type, written by curators and versioned.

FLEX links every error type to corrective feedback, but its tables do not print the texts, so
curators write them. Every edit is a new row with the next version number; no row is ever
changed, so the history is the table. Texts are keyed by error-type code, not by graph version,
so they carry over when a new graph version keeps the code.
"""
from django.conf import settings
from django.db import models

FEEDBACK_MAX_CHARS = 4000


class FeedbackText(models.Model):
    error_code = models.CharField(max_length=16, db_index=True)
    version = models.PositiveIntegerField()
    text = models.TextField(max_length=FEEDBACK_MAX_CHARS)
    note = models.CharField(max_length=255, blank=True, help_text="Why this version was written.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["error_code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["error_code", "version"], name="kg_feedback_unique_version"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="kg_feedback_version_positive"),
        ]

    def __str__(self):
        return f"{self.error_code} v{self.version}"
