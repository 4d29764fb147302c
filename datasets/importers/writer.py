"""``dataset_import``: parse every file, check everything, then write it all in one transaction.

Imported labels are already aggregated (formats.md §7.3: no public file has annotator-level
labels), so they are stored as the raw labels of pseudo-annotators, users named
``import-<dataset>-<role>`` that belong to no group and never receive queue work:

- repetition (start, end) pairs -> ``RepetitionSpan`` rows of ``import-<ds>-src`` (RepCount-A
  keeps one pair per cycle, shared boundaries included), plus its end frames as
  ``EndPointMark`` rows so end-point consensus works on imported clips too;
- severity vote histograms (FormLab's own jsonl export) -> one ``SeverityVote`` per vote, by
  ``import-<ds>-v01``, ``-v02``... so the mean, majority and histogram come back unchanged;
- error segments and feedback lines -> ``ErrorSegment`` / ``FeedbackNote`` rows by
  ``import-<ds>-<pseudonym>``.

Each pseudo-annotator gets a submitted ``Assignment`` per clip and kind, as every label in FormLab
comes from one. An ``ImportRecord`` keeps the files' checksums and every quirk noticed; when the
files carry a split it is checked and frozen as a split version in the same transaction.
"""
from __future__ import annotations

import importlib
import json
import logging
from collections import Counter

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from annotation.models import Assignment, EndPointMark, ErrorSegment, FeedbackNote, SeverityVote
from config.exceptions import ConflictError, DomainError
from config.version import code_version
from datasets.bulk import bulk_insert, db_now, reserve_ids, reset_sequence
from datasets.core.pose_io import content_hash, pose_bytes
from datasets.importers.parsed import ParsedImport
from datasets.importers.safety import InputFiles, refuse
from datasets.models import (
    Clip, Dataset, ErrorType, Exercise, ImportRecord, Participant, Repetition, RepetitionSpan,
)
from datasets.models.catalog import slug_validator

logger = logging.getLogger(__name__)

#: format -> "module:function(files, options) -> ParsedImport"
PARSERS = {
    "repcount_a": "datasets.importers.repcount:parse",
    "fitness_aqa": "datasets.importers.fitness_aqa:parse",
    "qevd": "datasets.importers.qevd:parse",
    "flex": "datasets.importers.flex:parse",
    "jsonl": "datasets.importers.jsonl:parse",
    "split_csv": "datasets.importers.split_lists:parse_split_csv",
}
SPLITS_ONLY_FORMATS = ("split_csv",)


def parse_files(*, fmt: str, paths, options: dict | None = None) -> tuple[ParsedImport, list[dict]]:
    """Parse and validate the input files of one import; write nothing."""
    if fmt not in PARSERS:
        raise DomainError(f"Unknown import format {fmt!r}. Known: {', '.join(PARSERS)}.", code="unknown_format",
                          fields={"format": [fmt]})
    module, _, func = PARSERS[fmt].partition(":")
    parser = getattr(importlib.import_module(module), func)
    with InputFiles(paths) as files:
        parsed = parser(files, dict(options or {}))
        provenance = files.provenance()
    _validate(parsed)
    return parsed, provenance


def _validate(parsed: ParsedImport) -> None:
    """Checks every parser shares: ids unique, times inside the clip, ordered, non-negative."""
    seen = Counter(c.external_id for c in parsed.clips)
    twice = sorted(k for k, n in seen.items() if n > 1)
    if twice:
        refuse("duplicate_clip", f"Clip id(s) appear twice: {', '.join(twice[:20])}", field="clip_id")
    for clip in parsed.clips:
        if not (clip.fps > 0 and np.isfinite(clip.fps)):
            refuse("invalid_fps", f"Clip {clip.external_id}: fps must be positive", field="fps")
        if clip.frame_count < 1:
            refuse("invalid_frame_count", f"Clip {clip.external_id}: frame count must be positive", field="frame_count")
        for i, (start, end) in enumerate(clip.reps):
            if start is None or end is None:
                continue  # bounds not known (e.g. annotators disagreed); the repetition still exists
            _check_interval(clip, start, end, f"repetition {i}")
        for code, start, end, _ in clip.segments:
            _check_interval(clip, start, end, f"segment of {code}")
        for frame, text, _ in clip.feedback:
            if frame < 0 or frame >= clip.frame_count:
                refuse("end_past_clip", f"Clip {clip.external_id}: feedback at frame {frame} is outside its "
                       f"{clip.frame_count} frames", field="feedback")
        if clip.exercise not in parsed.exercises:
            refuse("unknown_exercise", f"Clip {clip.external_id}: exercise {clip.exercise!r} is not declared",
                   field="exercise")
        for k, code, hist in clip.severity:
            if not 0 <= k < len(clip.reps):
                refuse("unknown_repetition", f"Clip {clip.external_id}: labels for repetition {k}, which it lacks",
                       field="labels")
            if (clip.exercise, code) not in parsed.error_types:
                refuse("unknown_error_type", f"Clip {clip.external_id}: error type {code!r} is not declared",
                       field="labels")
            if len(hist) != 4 or any((not isinstance(v, int)) or v < 0 for v in hist):
                refuse("invalid_votes", f"Clip {clip.external_id}: votes must be four non-negative counts",
                       field="votes")


def _check_interval(clip, start, end, what) -> None:
    if not (np.isfinite(start) and np.isfinite(end)):
        refuse("invalid_segment", f"Clip {clip.external_id}: {what} has a non-finite bound", field=what)
    if start < 0 or end < 0:
        refuse("negative_segment", f"Clip {clip.external_id}: {what} is negative ({start}, {end})", field=what)
    if end < start:
        refuse("reversed_segment", f"Clip {clip.external_id}: {what} ends before it starts ({start}, {end})",
               field=what)
    if end > clip.frame_count:
        refuse("end_past_clip", f"Clip {clip.external_id}: {what} ends at frame {end}, past the clip's "
               f"{clip.frame_count} frames", field=what)


def dataset_import(*, fmt: str, dataset_name: str, paths, options: dict | None = None, user=None,
                   splits_only: bool = False, progress=None) -> dict:
    """Import files into a (new or existing) dataset; return a summary. All or nothing."""
    report = progress or (lambda fraction, message="": None)
    options = dict(options or {})
    slug_validator(dataset_name)
    parsed, provenance = parse_files(fmt=fmt, paths=paths, options=options)
    report(0.4, f"parsed {len(parsed.clips)} clips")
    dataset = Dataset.objects.filter(name=dataset_name).first()
    if splits_only or fmt in SPLITS_ONLY_FORMATS:
        return _import_split_only(parsed=parsed, dataset=dataset, dataset_name=dataset_name, provenance=provenance,
                                  options=options, user=user)
    if not parsed.clips:
        refuse("empty_import", "The files hold no clip")
    if dataset is not None:
        existing = set(Clip.objects.filter(dataset=dataset, external_id__in=[c.external_id for c in parsed.clips])
                       .values_list("external_id", flat=True))
        if existing:
            raise ConflictError(f"{len(existing)} clip(s) already exist in {dataset_name}: "
                                f"{', '.join(sorted(existing)[:20])}.", code="clip_exists",
                                fields={"clips": sorted(existing)[:1000]})
        _check_exercise_shapes(dataset, parsed)
    written_files = _store_poses(parsed)
    try:
        with transaction.atomic():
            summary = _write(parsed=parsed, dataset=dataset, dataset_name=dataset_name, provenance=provenance,
                             options=options, user=user, report=report)
    except Exception:
        for path in written_files:
            default_storage.delete(path)
        raise
    logger.info("import.written", extra={"dataset": dataset_name, "format": fmt, "clips": len(parsed.clips)})
    return summary


def _check_exercise_shapes(dataset, parsed) -> None:
    for slug, spec in parsed.exercises.items():
        ex = Exercise.objects.filter(dataset=dataset, slug=slug).first()
        if ex is not None and (ex.joint_count, ex.dims) != (spec.get("joint_count", ex.joint_count),
                                                             spec.get("dims", ex.dims)):
            refuse("exercise_mismatch", f"Exercise {slug} exists with {ex.joint_count} joints x {ex.dims} dims; the "
                   f"files give {spec.get('joint_count')} x {spec.get('dims')}", field="exercise")


def _store_poses(parsed) -> list[str]:
    written = []
    for clip in parsed.clips:
        if clip.pose is None:
            continue
        data = pose_bytes(clip.pose)
        digest = content_hash(data)
        path = f"pose/imported/{digest[:2]}/{digest}.npy"
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(data))
            written.append(path)
        clip.pose_path, clip.pose_hash = path, digest
    return written


def _import_split_only(*, parsed, dataset, dataset_name, provenance, options, user) -> dict:
    from datasets.services.splits import split_import

    if dataset is None:
        raise DomainError(f"Unknown dataset {dataset_name!r}; import its clips first.", code="dataset_not_found",
                          status_code=404)
    if not parsed.split_entries:
        refuse("no_split", "The files carry no split lists")
    rule = options.get("split_rule") or parsed.split_rule
    detail = options.get("split_rule_detail") or parsed.split_rule_detail
    with transaction.atomic():
        version = split_import(dataset=dataset, entries=parsed.split_entries, rule=rule, rule_detail=detail,
                               source_format=parsed.format, files=provenance, note=options.get("note", ""), user=user)
    return {"dataset": dataset.name, "format": parsed.format, "split_version": version.pk,
            "split_version_number": version.version, "manifest_hash": version.manifest_hash, "counts": version.counts}


def _pseudo_users(dataset_name: str, roles: list[str]) -> dict[str, int]:
    User = get_user_model()
    names = {role: f"import-{dataset_name}-{role}"[:150] for role in roles}
    existing = set(User.objects.filter(username__in=names.values()).values_list("username", flat=True))
    User.objects.bulk_create([User(username=n, password="!") for n in names.values() if n not in existing])
    ids = dict(User.objects.filter(username__in=names.values()).values_list("username", "id"))
    return {role: ids[name] for role, name in names.items()}


def _write(*, parsed: ParsedImport, dataset, dataset_name, provenance, options, user, report) -> dict:
    now = db_now()
    if dataset is None:
        dataset = Dataset.objects.create(name=dataset_name, kind=parsed.dataset_kind,
                                         description=parsed.description or f"Imported from {parsed.format}.")
    exercises = {}
    for slug, spec in sorted(parsed.exercises.items()):
        ex, _ = Exercise.objects.get_or_create(dataset=dataset, slug=slug, defaults={
            "name": spec.get("name", slug), "joint_count": spec.get("joint_count", 26), "dims": spec.get("dims", 2),
            "skeleton_layout": spec.get("skeleton_layout", "unknown")})
        exercises[slug] = ex.pk
    error_types = {}
    for (slug, code), spec in sorted(parsed.error_types.items()):
        et, _ = ErrorType.objects.get_or_create(exercise_id=exercises[slug], code=code, defaults={
            "description": spec.get("description", ""), "generic_name": spec.get("generic_name", "")})
        error_types[(slug, code)] = et.pk
    participants = {}
    wanted = sorted({c.participant for c in parsed.clips if c.participant})
    for ext in wanted:
        p, _ = Participant.objects.get_or_create(dataset=dataset, external_id=ext,
                                                 defaults={"skill_level": parsed.participants.get(ext)})
        participants[ext] = p.pk

    clips = parsed.clips
    n = len(clips)
    first = reserve_ids(Clip, n)
    clip_ids = np.arange(first, first + n, dtype=np.int64)
    bulk_insert(Clip, {
        "id": clip_ids, "dataset_id": dataset.pk,
        "participant_id": [participants.get(c.participant) if c.participant else None for c in clips],
        "exercise_id": np.array([exercises[c.exercise] for c in clips], dtype=np.int64),
        "external_id": [c.external_id for c in clips], "source": [c.source or parsed.format for c in clips],
        "fps": np.array([c.fps for c in clips], dtype=np.float64),
        "frame_count": np.array([c.frame_count for c in clips], dtype=np.int64),
        "pose_file": [getattr(c, "pose_path", "") for c in clips], "video_file": "",
        "content_hash": [getattr(c, "pose_hash", "") for c in clips], "created_at": now,
    }, n_rows=n)
    report(0.55, "clips written")

    rep_clip = np.array([i for i, c in enumerate(clips) for _ in c.reps], dtype=np.int64)
    rep_index = np.array([k for c in clips for k in range(len(c.reps))], dtype=np.int64)
    first = reserve_ids(Repetition, len(rep_clip))
    rep_ids = np.arange(first, first + len(rep_clip), dtype=np.int64)
    bulk_insert(Repetition, {"id": rep_ids, "clip_id": clip_ids[rep_clip], "index": rep_index}, n_rows=len(rep_ids))
    rep_offsets = np.concatenate([[0], np.cumsum([len(c.reps) for c in clips])]).astype(np.int64)

    roles = ["src"] if len(rep_ids) else []
    max_votes = max((sum(h) for c in clips for _, _, h in c.severity), default=0)
    roles += [f"v{k + 1:02d}" for k in range(max_votes)]
    pseudonyms = sorted({a for c in clips for *_, a in c.segments} | {a for c in clips for *_, a in c.feedback})
    roles += pseudonyms
    users = _pseudo_users(dataset.name, roles)
    assignments: set[tuple[int, int, str]] = set()

    counts = {"clips": n, "repetitions": int(len(rep_ids))}
    if len(rep_ids):
        starts = np.array([np.nan if s is None else s for c in clips for s, _ in c.reps], dtype=np.float64)
        ends = np.array([np.nan if e is None else e for c in clips for _, e in c.reps], dtype=np.float64)
        known = ~np.isnan(starts) & ~np.isnan(ends)
        bulk_insert(RepetitionSpan, {"repetition_id": rep_ids[known], "annotator_id": users["src"],
                                     "start_frame": starts[known], "end_frame": ends[known],
                                     "source": parsed.format}, n_rows=int(known.sum()))
        # Integral end marks, one per distinct frame (the mark table is unique per frame).
        has_end = ~np.isnan(ends)
        mark_keys = np.unique(np.stack([rep_clip[has_end], np.rint(ends[has_end]).astype(np.int64)]), axis=1)
        bulk_insert(EndPointMark, {"clip_id": clip_ids[mark_keys[0]], "annotator_id": users["src"],
                                   "frame": mark_keys[1], "client_key": f"import:{parsed.format}", "created_at": now},
                    n_rows=mark_keys.shape[1])
        assignments |= {(users["src"], int(clip_ids[i]), Assignment.Kind.ENDPOINTS.value) for i in np.unique(rep_clip)}
        counts["end_point_marks"] = int(mark_keys.shape[1])

    vote_rep, vote_et, vote_ann, vote_val = [], [], [], []
    for i, clip in enumerate(clips):
        for k, code, hist in clip.severity:
            values = np.repeat(np.arange(4), hist)
            vote_rep += [rep_ids[rep_offsets[i] + k]] * len(values)
            vote_et += [error_types[(clip.exercise, code)]] * len(values)
            vote_ann += [users[f"v{s + 1:02d}"] for s in range(len(values))]
            vote_val += values.tolist()
            assignments |= {(users[f"v{s + 1:02d}"], int(clip_ids[i]), Assignment.Kind.SEVERITY.value)
                            for s in range(len(values))}
    if vote_rep:
        bulk_insert(SeverityVote, {"repetition_id": np.array(vote_rep, dtype=np.int64),
                                   "error_type_id": np.array(vote_et, dtype=np.int64),
                                   "annotator_id": np.array(vote_ann, dtype=np.int64),
                                   "value": np.array(vote_val, dtype=np.int16), "client_key": f"import:{parsed.format}",
                                   "created_at": now}, n_rows=len(vote_rep))
    counts["severity_votes"] = len(vote_rep)

    seg_rows = [(int(clip_ids[i]), error_types[(c.exercise, code)], users[a], int(s), int(e))
                for i, c in enumerate(clips) for code, s, e, a in c.segments]
    if seg_rows:
        cols = list(zip(*seg_rows))
        bulk_insert(ErrorSegment, {"clip_id": np.array(cols[0]), "error_type_id": np.array(cols[1]),
                                   "annotator_id": np.array(cols[2]), "start_frame": np.array(cols[3]),
                                   "end_frame": np.array(cols[4]), "client_key": f"import:{parsed.format}",
                                   "created_at": now}, n_rows=len(seg_rows))
        assignments |= {(r[2], r[0], Assignment.Kind.SEGMENTS.value) for r in seg_rows}
    counts["segments"] = len(seg_rows)
    fb_rows = [(int(clip_ids[i]), users[a], int(f), t) for i, c in enumerate(clips) for f, t, a in c.feedback]
    if fb_rows:
        cols = list(zip(*fb_rows))
        bulk_insert(FeedbackNote, {"clip_id": np.array(cols[0]), "annotator_id": np.array(cols[1]),
                                   "frame": np.array(cols[2]), "text": list(cols[3]),
                                   "client_key": f"import:{parsed.format}", "created_at": now}, n_rows=len(fb_rows))
        assignments |= {(r[1], r[0], Assignment.Kind.FEEDBACK.value) for r in fb_rows}
    counts["feedback"] = len(fb_rows)
    if assignments:
        rows = sorted(assignments)
        bulk_insert(Assignment, {"annotator_id": np.array([r[0] for r in rows]), "clip_id": np.array([r[1] for r in rows]),
                                 "kind": [r[2] for r in rows], "item_ref": "", "state": Assignment.State.SUBMITTED.value,
                                 "created_at": now, "submitted_at": now}, n_rows=len(rows))
    for model in (Clip, Repetition):
        reset_sequence(model)
    report(0.85, "labels written")

    version = None
    if parsed.split_entries:
        from datasets.services.splits import split_import

        version = split_import(dataset=dataset, entries=parsed.split_entries,
                               rule=options.get("split_rule") or parsed.split_rule,
                               rule_detail=options.get("split_rule_detail") or parsed.split_rule_detail,
                               source_format=parsed.format, files=provenance, user=user,
                               note=f"Imported with the {parsed.format} files.")
    record = ImportRecord.objects.create(
        dataset=dataset, format=parsed.format, files=provenance, counts=counts, warnings=parsed.warnings,
        details=json.loads(json.dumps(parsed.details, default=str)), license=parsed.license, split_version=version,
        code_version=code_version(), created_by=user if user is not None and getattr(user, "pk", None) else None)
    report(1.0, "done")
    return {"dataset": dataset.name, "dataset_id": dataset.pk, "format": parsed.format, "import_record": record.pk,
            "counts": counts, "warnings": len(parsed.warnings),
            "split_version": version.pk if version else None,
            "split_version_number": version.version if version else None}
