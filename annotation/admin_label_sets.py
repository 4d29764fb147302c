"""Admin for label sets and agreement reports: read-only, like raw labels (they are immutable;
the current flag moves through the API or ``label_set_set_current``)."""
from django.contrib import admin

from annotation.admin import ReadOnlyAdmin
from annotation.models import AgreementReport, LabelSet


@admin.register(LabelSet)
class LabelSetAdmin(ReadOnlyAdmin):
    list_display = ("id", "dataset", "kind", "number", "method", "is_current", "input_count", "item_count",
                    "created_by", "created_at")
    list_filter = ("kind", "is_current", "dataset")
    list_select_related = ("dataset", "created_by")
    readonly_fields = ("input_hash", "params", "summary", "timings", "code_version")


@admin.register(AgreementReport)
class AgreementReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "dataset", "label_set", "input_count", "created_at")
    list_filter = ("dataset",)
    list_select_related = ("dataset", "label_set")
