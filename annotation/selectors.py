"""Reads of raw labels. Annotators only ever see their own labels."""
from django.db.models import QuerySet

from annotation.models import EndPointMark, SeverityVote
from annotation.roles import is_staff_role


def vote_list_for_user(*, user, clip_id=None, dataset_id=None) -> QuerySet:
    qs = SeverityVote.objects.all()
    if not is_staff_role(user):
        qs = qs.filter(annotator=user)
    if clip_id is not None:
        qs = qs.filter(repetition__clip_id=clip_id)
    if dataset_id is not None:
        qs = qs.filter(repetition__clip__dataset_id=dataset_id)
    return qs.order_by("id")


def end_point_list_for_user(*, user, clip) -> QuerySet:
    qs = EndPointMark.objects.filter(clip=clip)
    if not is_staff_role(user):
        qs = qs.filter(annotator=user)
    return qs.order_by("annotator_id", "frame")
