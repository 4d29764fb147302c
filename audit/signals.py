"""Automatic audit entries from model signals.

Audited per row (``post_save`` / ``post_delete``): the models in ``AUDITED_MODELS`` plus every
model whose name ends in ``LabelSet`` (label-set versions of any kind, including ones added
later). Labels that do not exist yet are skipped; the list is resolved when the app registry is
ready.

Raw labels are written in batches (``bulk_create``, which sends no signal), always through
``annotation.idempotency.idempotent_write``, which saves exactly one ``IdempotencyRecord`` per
submission in the same transaction. So a submission is audited by ONE entry, written from that
record's ``post_save`` inside the submission's transaction: no labels without their entry, and
one INSERT per batch however many labels it holds. Per-row receivers on the raw-label models
cover only edits and deletes (segments and notes are editable while their lease is open).

Not audited here, by design: deletes of severity votes and end-point marks (they only go by
cascade with their clip or dataset, and a receiver would turn Django's fast bulk delete into a
row-by-row one; a dataset deletion is audited instead, with the counts it takes along), COPY
writes and ``queryset.update()`` (their services call ``audit.services.audit_record``).
"""
import datetime
import decimal
import json
import logging
import uuid

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from audit.services import audit_record

logger = logging.getLogger(__name__)

AUDITED_MODELS = (
    "annotation.SeverityVote",
    "annotation.EndPointMark",
    "annotation.ErrorSegment",
    "annotation.FeedbackNote",
    "kg.FlexStage1Set",
    "kg.FlexReview",
    "kg.FlexLabelSet",
    "kg.FeedbackText",
    "kg.GraphVersion",
    "datasets.SplitVersion",
    "datasets.SplitExport",
    "tasks.ModelRun",
)

# Raw labels created in batches under an idempotency key: their creation is audited per
# submission (see module docstring), their edits and deletes per row.
BATCH_CREATED = {
    "annotation.SeverityVote", "annotation.EndPointMark", "annotation.ErrorSegment",
    "annotation.FeedbackNote", "kg.FlexStage1Set", "kg.FlexReview",
}
# High-volume rows whose delete is only ever a cascade: no per-row delete receiver.
NO_ROW_DELETE = {"annotation.SeverityVote", "annotation.EndPointMark"}

# idempotent_write scope -> the model its submission wrote.
SCOPE_MODELS = {
    "votes": "annotation.SeverityVote",
    "end_points": "annotation.EndPointMark",
    "segment_create": "annotation.ErrorSegment",
    "segments_submit": "annotation.ErrorSegment",
    "feedback_create": "annotation.FeedbackNote",
    "feedback_submit": "annotation.FeedbackNote",
    "flex_stage1": "kg.FlexStage1Set",
    "flex_stage2": "kg.FlexReview",
}

_SMALL = 300  # characters of JSON a snapshot keeps per field before it names only the size


def audited_models() -> list[type[models.Model]]:
    found = {}
    for label in AUDITED_MODELS:
        try:
            found[label] = apps.get_model(label)
        except LookupError:  # not built yet: skipped until it exists
            continue
    for model in apps.get_models():
        if model.__name__.endswith("LabelSet") and not model._meta.abstract:
            found.setdefault(model._meta.label, model)
    return list(found.values())


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or ""
    return value


def _small(value):
    value = _plain(value)
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = str(value)
        value = text
    if len(text) > _SMALL:
        return {"omitted_chars": len(text)}
    return value


def _fields(model):
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def snapshot(instance) -> dict:
    return {f.attname: _small(f.value_from_object(instance)) for f in _fields(type(instance))}


def _dataset_id(instance) -> int | None:
    """The dataset a row belongs to, in at most one cheap query."""
    if hasattr(instance, "dataset_id"):
        return instance.dataset_id
    Clip = apps.get_model("datasets", "Clip")
    if getattr(instance, "clip_id", None):
        return Clip.objects.filter(pk=instance.clip_id).values_list("dataset_id", flat=True).first()
    if getattr(instance, "split_version_id", None):
        SplitVersion = apps.get_model("datasets", "SplitVersion")
        return SplitVersion.objects.filter(pk=instance.split_version_id).values_list(
            "dataset_id", flat=True).first()
    if getattr(instance, "repetition_id", None):
        return Clip.objects.filter(repetitions__pk=instance.repetition_id).values_list(
            "dataset_id", flat=True).first()
    return None


def _before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance._state.adding or instance.pk is None:
        return
    names = [f.attname for f in _fields(sender)
             if update_fields is None or f.name in update_fields or f.attname in update_fields]
    old = sender._base_manager.filter(pk=instance.pk).values(*names).first()
    instance._audit_old = old


def _after_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    label = sender._meta.label
    if created:
        if label in BATCH_CREATED:
            return
        audit_record(action="create", object_type=label, object_id=instance.pk,
                     dataset_id=_dataset_id(instance), changes=snapshot(instance))
        return
    old = getattr(instance, "_audit_old", None) or {}
    instance._audit_old = None
    changes = {}
    for name, before in old.items():
        after = getattr(instance, name)
        if _plain(before) != _plain(after):
            changes[name] = [_small(before), _small(after)]
    if not changes:
        return
    audit_record(action="update", object_type=label, object_id=instance.pk,
                 dataset_id=_dataset_id(instance), changes=changes)


def _after_delete(sender, instance, **kwargs):
    audit_record(action="delete", object_type=sender._meta.label, object_id=instance.pk,
                 dataset_id=_dataset_id(instance), changes=snapshot(instance))


def _submission_saved(sender, instance, created, raw=False, **kwargs):
    """One entry per label submission, from its IdempotencyRecord (same transaction)."""
    if raw or not created:
        return
    label = SCOPE_MODELS.get(instance.scope, f"annotation.IdempotencyRecord:{instance.scope}")
    response = instance.response if isinstance(instance.response, dict) else {}
    summary = {"scope": instance.scope, "client_key": instance.key}
    for name in ("stored", "clip", "stage"):
        if name in response:
            summary[name] = response[name]
    audit_record(action="create", object_type=label, object_id=instance.key, actor=instance.user,
                 dataset_id=_submission_dataset(label, instance, response), changes=summary)


def _submission_dataset(label: str, record, response: dict) -> int | None:
    if response.get("dataset") is not None:  # a vote batch names its dataset
        return response["dataset"]
    Clip = apps.get_model("datasets", "Clip")
    clip_id = response.get("clip")
    if clip_id is None:
        for inner in ("segment", "note"):
            if isinstance(response.get(inner), dict):
                model = apps.get_model(label)
                clip_id = model.objects.filter(pk=response[inner].get("id")).values_list(
                    "clip_id", flat=True).first()
    if clip_id is not None:
        return Clip.objects.filter(pk=clip_id).values_list("dataset_id", flat=True).first()
    if label == "annotation.SeverityVote":
        Vote = apps.get_model("annotation", "SeverityVote")
        found = list(Vote.objects.filter(annotator_id=record.user_id, client_key=record.key)
                     .values_list("repetition__clip__dataset_id", flat=True)[:1])
        return found[0] if found else None
    return None


def _dataset_deleting(sender, instance, **kwargs):
    """A dataset takes its clips and raw labels along: one entry with the counts."""
    from annotation.models import EndPointMark, SeverityVote

    audit_record(action="delete", object_type=sender._meta.label, object_id=instance.pk,
                 dataset_id=instance.pk, changes={
                     "name": instance.name,
                     "clips": instance.clips.count() if hasattr(instance, "clips") else None,
                     "severity_votes": SeverityVote.objects.filter(repetition__clip__dataset=instance).count(),
                     "end_point_marks": EndPointMark.objects.filter(clip__dataset=instance).count(),
                 })


def connect() -> list[str]:
    connected = []
    for model in audited_models():
        label = model._meta.label
        uid = f"audit:{label}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}:pre_save")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}:post_save")
        if label not in NO_ROW_DELETE:
            post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}:post_delete")
        connected.append(label)
    record = apps.get_model("annotation", "IdempotencyRecord")
    post_save.connect(_submission_saved, sender=record, dispatch_uid="audit:submission")
    dataset = apps.get_model("datasets", "Dataset")
    pre_delete.connect(_dataset_deleting, sender=dataset, dispatch_uid="audit:dataset_delete")
    return connected
