from django.contrib import admin

from annotation.models import Assignment, EndPointMark, IdempotencyRecord, SeverityVote


class ReadOnlyAdmin(admin.ModelAdmin):
    """Raw labels are evidence: visible in the admin, never edited there."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("annotator", "clip", "kind", "state", "lease_expires_at", "submitted_at")
    list_filter = ("kind", "state")
    raw_id_fields = ("annotator", "clip")


@admin.register(EndPointMark)
class EndPointMarkAdmin(ReadOnlyAdmin):
    list_display = ("clip", "annotator", "frame", "created_at")
    raw_id_fields = ("clip", "annotator")


@admin.register(SeverityVote)
class SeverityVoteAdmin(ReadOnlyAdmin):
    list_display = ("repetition", "error_type", "annotator", "value", "created_at")
    raw_id_fields = ("repetition", "error_type", "annotator")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("user", "key", "scope", "created_at")
from annotation import admin_label_sets  # noqa: E402,F401  (label sets, agreement reports)
