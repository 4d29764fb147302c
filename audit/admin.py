from django.contrib import admin

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is never edited, not even by an admin."""

    list_display = ("created_at", "actor_username", "action", "object_type", "object_id", "dataset_id",
                    "source", "ip_address")
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_type", "object_id", "source")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
