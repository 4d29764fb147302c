"""Read-only admin for split versions, exports and import records: frozen rows are never edited."""
from django.contrib import admin

from datasets.models import ImportRecord, SplitExport, SplitVersion


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SplitVersion)
class SplitVersionAdmin(_ReadOnly):
    list_display = ("dataset", "version", "source", "rule", "manifest_hash", "created_at")
    list_filter = ("dataset", "source", "rule")
    search_fields = ("manifest_hash", "name", "note")
    list_select_related = ("dataset",)


@admin.register(SplitExport)
class SplitExportAdmin(_ReadOnly):
    list_display = ("id", "split_version", "format", "state", "created_at", "finished_at")
    list_filter = ("format", "state")
    list_select_related = ("split_version__dataset",)


@admin.register(ImportRecord)
class ImportRecordAdmin(_ReadOnly):
    list_display = ("id", "dataset", "format", "created_at")
    list_filter = ("format",)
