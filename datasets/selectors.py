"""Reads of datasets and clips, scoped to what the user may see.

Curators and admins see everything. Annotators and reviewers see only the clips they hold an
assignment for (and the datasets, exercises and error types around them); a clip they do not
hold is answered 404, as if it did not exist.
"""
from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import Assignment
from annotation.roles import is_staff_role
from config.exceptions import NotFoundError
from datasets.models import Clip, Dataset, ErrorType, Exercise, Participant, Repetition


def _assigned_clips(user) -> QuerySet:
    return Assignment.objects.filter(annotator=user).values("clip_id")


def dataset_list_for_user(*, user) -> QuerySet:
    qs = Dataset.objects.all()
    if is_staff_role(user):
        return qs
    held = Assignment.objects.filter(annotator=user, clip__dataset_id=OuterRef("pk"))
    return qs.filter(Exists(held))


def dataset_get_for_user(*, user, dataset_id) -> Dataset:
    try:
        return dataset_list_for_user(user=user).get(pk=dataset_id)
    except (Dataset.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Dataset {dataset_id} not found.", code="dataset_not_found") from None


def dataset_get_by_name(*, name: str) -> Dataset:
    try:
        return Dataset.objects.get(name=name)
    except Dataset.DoesNotExist:
        known = ", ".join(Dataset.objects.values_list("name", flat=True)[:20]) or "none"
        raise NotFoundError(f"Unknown dataset {name!r}. Known: {known}.", code="dataset_not_found") from None


def exercise_list_for_user(*, user, dataset_id=None) -> QuerySet:
    qs = Exercise.objects.filter(dataset__in=dataset_list_for_user(user=user))
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    return qs


def error_type_list_for_user(*, user, dataset_id=None, exercise_id=None) -> QuerySet:
    qs = ErrorType.objects.select_related("exercise").filter(
        exercise__dataset__in=dataset_list_for_user(user=user)
    )
    if dataset_id is not None:
        qs = qs.filter(exercise__dataset_id=dataset_id)
    if exercise_id is not None:
        qs = qs.filter(exercise_id=exercise_id)
    return qs


def participant_list(*, dataset_id=None) -> QuerySet:
    qs = Participant.objects.all()
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    return qs


def clip_list_for_user(*, user, dataset_id=None, exercise_id=None, participant_id=None) -> QuerySet:
    qs = Clip.objects.select_related("exercise")
    if not is_staff_role(user):
        qs = qs.filter(pk__in=_assigned_clips(user))
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    if exercise_id is not None:
        qs = qs.filter(exercise_id=exercise_id)
    if participant_id is not None:
        qs = qs.filter(participant_id=participant_id)
    return qs.order_by("id")


def clip_get_for_user(*, user, clip_id) -> Clip:
    try:
        return clip_list_for_user(user=user).select_related("dataset", "participant").get(pk=clip_id)
    except (Clip.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Clip {clip_id} not found.", code="clip_not_found") from None


def repetition_list_for_clip(*, clip: Clip) -> QuerySet:
    return Repetition.objects.filter(clip=clip).order_by("index")
