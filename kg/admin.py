"""Admin for the kg app.

The graph, raw labels, label sets and hidden truth are evidence: visible, never edited here (a
graph changes by loading a new file; a label set by running ``score_flex``). Feedback texts are
the one thing curators write in the admin, and every save is a new version: "changing" a text
saves the edited words as the next version and leaves the old row as it was.
"""
from django import forms
from django.contrib import admin, messages

from config.exceptions import DomainError
from kg.models import (
    FeedbackText,
    FlexLabelSet,
    FlexReview,
    FlexStage1Set,
    FlexTrueSlots,
    GraphAction,
    GraphErrorType,
    GraphKeystep,
    GraphPhase,
    GraphSlot,
    GraphVersion,
)
from kg.services.feedback import feedback_text_create, feedback_text_validate
from kg.services.label_sets import flex_label_set_make_current


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GraphVersion)
class GraphVersionAdmin(ReadOnlyAdmin):
    list_display = ("number", "is_current", "content_hash", "counts", "loaded_at", "path")
    exclude = ("document",)


class GraphPhaseInline(admin.TabularInline):
    model = GraphPhase
    fields = ("position", "name")
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


class GraphSlotInline(GraphPhaseInline):
    model = GraphSlot
    fields = ("position", "key", "error_type", "weight")
    raw_id_fields = ("error_type",)


@admin.register(GraphAction)
class GraphActionAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "total_weight", "graph_version")
    list_filter = ("graph_version",)
    search_fields = ("name",)
    inlines = [GraphPhaseInline, GraphSlotInline]


@admin.register(GraphErrorType)
class GraphErrorTypeAdmin(ReadOnlyAdmin):
    list_display = ("code", "weight", "description", "graph_version")
    list_filter = ("graph_version", "weight")
    search_fields = ("code", "description")


@admin.register(GraphKeystep)
class GraphKeystepAdmin(ReadOnlyAdmin):
    list_display = ("code", "description", "graph_version")
    list_filter = ("graph_version",)
    search_fields = ("code", "description")


class FeedbackTextForm(forms.ModelForm):
    class Meta:
        model = FeedbackText
        fields = ("error_code", "text", "note")

    def clean(self):
        cleaned = super().clean()
        # On "change" the code is read-only (not a form field): it comes from the edited row.
        raw_code = cleaned.get("error_code") or self.instance.error_code
        try:
            code, text = feedback_text_validate(error_code=raw_code, text=cleaned.get("text", ""))
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from None
        latest = FeedbackText.objects.filter(error_code=code).order_by("-version").first()
        if latest is not None and latest.text == text:
            raise forms.ValidationError(f"The text equals {code} version {latest.version}; nothing to save.")
        cleaned["error_code"], cleaned["text"] = code, text
        return cleaned

    def validate_unique(self):
        # The (code, version) pair is assigned by the service on save, not by the form.
        return None


@admin.register(FeedbackText)
class FeedbackTextAdmin(admin.ModelAdmin):
    form = FeedbackTextForm
    list_display = ("error_code", "version", "short_text", "created_by", "created_at")
    list_filter = ("error_code",)
    search_fields = ("error_code", "text")
    ordering = ("error_code", "-version")

    def get_readonly_fields(self, request, obj=None):
        return ("error_code", "version", "created_by", "created_at") if obj else ("version", "created_by", "created_at")

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Never overwrite: save the (edited) words as the next version of the error type's text."""
        created = feedback_text_create(error_code=form.cleaned_data["error_code"], text=form.cleaned_data["text"],
                                       user=request.user, note=form.cleaned_data.get("note", ""),
                                       check_based_on=False)
        if change:
            messages.info(request, f"Saved as {created}; version {obj.version} is kept unchanged.")
        # Point the admin's object at the new row; the edited instance itself is never saved.
        obj.pk, obj.version, obj.created_at = created.pk, created.version, created.created_at
        obj.created_by = created.created_by


@admin.register(FlexStage1Set)
class FlexStage1SetAdmin(ReadOnlyAdmin):
    list_display = ("clip", "annotator", "graph_version", "slot_keys", "created_at")
    raw_id_fields = ("clip", "annotator")


@admin.register(FlexReview)
class FlexReviewAdmin(ReadOnlyAdmin):
    list_display = ("clip", "reviewer", "approve", "slot_keys", "created_at")
    list_filter = ("approve",)
    raw_id_fields = ("clip", "reviewer")


@admin.register(FlexLabelSet)
class FlexLabelSetAdmin(ReadOnlyAdmin):
    list_display = ("dataset", "number", "is_current", "graph_version", "counts", "created_at")
    list_filter = ("dataset", "is_current")
    actions = ["make_current"]

    @admin.action(description="Make the selected label set its dataset's current one")
    def make_current(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, "Select exactly one label set.")
            return
        label_set = flex_label_set_make_current(label_set=queryset.get())
        messages.info(request, f"{label_set} is now current.")


@admin.register(FlexTrueSlots)
class FlexTrueSlotsAdmin(ReadOnlyAdmin):
    list_display = ("clip", "graph_version", "penalty", "score")
    raw_id_fields = ("clip",)
