from django.contrib import admin

from datasets.models import AnnotatorProfile, Clip, ClipTruth, Dataset, ErrorType, Exercise, Participant, Repetition


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_synthetic", "created_at")
    search_fields = ("name",)


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "dataset", "joint_count", "dims")
    list_filter = ("dataset",)
    search_fields = ("name", "slug")


@admin.register(ErrorType)
class ErrorTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "exercise", "generic_name", "annotator_kappa1")
    list_filter = ("exercise__dataset",)
    search_fields = ("code", "description")


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("external_id", "dataset", "skill_level")
    list_filter = ("dataset", "skill_level")
    search_fields = ("external_id",)


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ("external_id", "dataset", "exercise", "participant", "frame_count", "fps")
    list_filter = ("dataset",)
    search_fields = ("external_id",)
    raw_id_fields = ("participant", "exercise")
    list_select_related = ("dataset", "exercise", "participant")


@admin.register(Repetition)
class RepetitionAdmin(admin.ModelAdmin):
    list_display = ("clip", "index")
    raw_id_fields = ("clip",)


@admin.register(ClipTruth)
class ClipTruthAdmin(admin.ModelAdmin):
    list_display = ("clip",)
    raw_id_fields = ("clip",)


@admin.register(AnnotatorProfile)
class AnnotatorProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "dataset", "role")
    list_filter = ("dataset", "role")
from datasets import admin_splits  # noqa: E402,F401  split versions, exports, imports
