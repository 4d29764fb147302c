"""Writing a generated synthetic dataset into the database (and its pose arrays into storage).

The generator (``datasets.core.synthetic``) returns numpy arrays; this service turns them into
rows with bulk COPY in one transaction, so a failed run leaves nothing behind. Hidden truth goes
into the truth tables, apart from the labels. COPY sends no signals, so a run records itself with
one audit entry (the dataset, with the row counts it wrote) in that same transaction.
"""
import json
import logging
import time

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from annotation.models import Assignment, EndPointMark, SeverityVote
from annotation.roles import ANNOTATOR
from audit.services import audit_record
from config.exceptions import ConflictError
from datasets.bulk import bulk_insert, db_now, reserve_ids, reset_sequence, skip_reference_checks
from datasets.core.pose_io import content_hash, pose_bytes
from datasets.core.synthetic import JOINT_NAMES, generate_halo
from datasets.models import (
    AnnotatorProfile, Clip, ClipTruth, Dataset, ErrorType, Exercise, Participant, Repetition, TrueSeverity,
)

logger = logging.getLogger(__name__)
User = get_user_model()


def _annotator_users(dataset_name: str, synthetic) -> np.ndarray:
    """Create one user per simulated annotator; return their ids in annotator order."""
    kinds = synthetic.annotator_kind
    names = [f"sim-{dataset_name}-{'ep' if k == 0 else 'sv'}{i:04d}" for i, k in enumerate(kinds)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create(
        [User(username=n, password="!") for n in names if n not in existing]  # "!" = unusable password
    )
    ids = dict(User.objects.filter(username__in=names).values_list("username", "id"))
    group, _ = Group.objects.get_or_create(name=ANNOTATOR)
    group.user_set.add(*ids.values())
    return np.array([ids[n] for n in names], dtype=np.int64)


def synthetic_dataset_create(*, name: str, n_clips: int, seed: int, with_pose: bool = True,
                             progress=None) -> Dataset:
    """Generate and store a Halo-like synthetic dataset. Refuses an existing name."""
    if Dataset.objects.filter(name=name).exists():
        raise ConflictError(f"Dataset {name!r} already exists.", code="dataset_exists")
    report = progress or (lambda fraction, message: None)
    t0 = time.perf_counter()
    syn = generate_halo(n_clips=n_clips, seed=seed)
    report(0.2, f"generated arrays in {time.perf_counter() - t0:.1f}s")
    pose_paths = [""] * n_clips
    pose_hashes = [""] * n_clips
    written_files = []
    if with_pose:
        for i in range(n_clips):
            data = pose_bytes(syn.clip_pose(i))
            digest = content_hash(data)
            path = f"pose/synthetic/{digest[:2]}/{digest}.npy"
            if not default_storage.exists(path):
                path = default_storage.save(path, ContentFile(data))
                written_files.append(path)
            pose_paths[i], pose_hashes[i] = path, digest
            if i % 200 == 0:
                report(0.2 + 0.3 * i / n_clips, f"pose {i}/{n_clips}")
    try:
        with transaction.atomic():
            dataset, counts = _write_rows(name=name, seed=seed, syn=syn, pose_paths=pose_paths,
                                          pose_hashes=pose_hashes, report=report)
            audit_record(action="create", object_type="datasets.Dataset", object_id=dataset.pk,
                         dataset_id=dataset.pk,
                         changes={"generator": "halo", "seed": seed, "with_pose": with_pose, **counts})
    except Exception:
        for path in written_files:
            default_storage.delete(path)
        raise
    logger.info("synthetic.created", extra={"dataset": name, "clips": n_clips, "seconds": time.perf_counter() - t0})
    return dataset


def _write_rows(*, name, seed, syn, pose_paths, pose_hashes, report) -> tuple[Dataset, dict]:
    """Write every row; return the dataset and the number of rows written per kind."""
    # Every reference below points at a row this transaction has just written.
    skip_reference_checks()
    now = db_now()
    dataset = Dataset.objects.create(
        name=name, kind=Dataset.Kind.HALO, is_synthetic=True, synthetic_seed=seed,
        description=f"Synthetic Halo-like dataset ({len(syn.clip_participant)} clips, seed {seed}).",
    )
    exercises = Exercise.objects.bulk_create(
        Exercise(dataset=dataset, slug=e.slug, name=e.name, skeleton_layout="halo26",
                 joint_count=len(JOINT_NAMES), dims=2)
        for e in syn.exercises
    )
    exercise_ids = np.array([e.pk for e in exercises], dtype=np.int64)
    error_types = ErrorType.objects.bulk_create(
        ErrorType(exercise=exercises[ex], code=spec.code, description=spec.name,
                  generic_name=spec.generic_name, annotator_kappa1=spec.kappa1_target)
        for ex, spec in syn.error_types
    )
    error_type_ids = np.array([e.pk for e in error_types], dtype=np.int64)

    n_part = len(syn.participant_skill)
    first = reserve_ids(Participant, n_part)
    participant_ids = np.arange(first, first + n_part, dtype=np.int64)
    bulk_insert(Participant, {
        "id": participant_ids, "dataset_id": dataset.pk,
        "external_id": [f"P{i:05d}" for i in range(n_part)],
        "skill_level": syn.participant_skill.astype(np.int16),
    }, n_rows=n_part)

    n_clips = len(syn.clip_participant)
    first = reserve_ids(Clip, n_clips)
    clip_ids = np.arange(first, first + n_clips, dtype=np.int64)
    bulk_insert(Clip, {
        "id": clip_ids, "dataset_id": dataset.pk,
        "participant_id": participant_ids[syn.clip_participant],
        "exercise_id": exercise_ids[syn.clip_exercise],
        "external_id": [f"{name}-{i:06d}" for i in range(n_clips)],
        "source": "synthetic", "fps": float(syn.fps), "frame_count": syn.clip_n_frames.astype(np.int64),
        "pose_file": pose_paths, "video_file": "", "content_hash": pose_hashes, "created_at": now,
    }, n_rows=n_clips)
    report(0.55, "clips written")

    n_reps = len(syn.rep_clip)
    first = reserve_ids(Repetition, n_reps)
    rep_ids = np.arange(first, first + n_reps, dtype=np.int64)
    bulk_insert(Repetition, {"id": rep_ids, "clip_id": clip_ids[syn.rep_clip],
                             "index": syn.rep_index.astype(np.int64)}, n_rows=n_reps)

    bounds = np.searchsorted(syn.rep_clip, np.arange(n_clips + 1))
    bulk_insert(ClipTruth, {
        "clip_id": clip_ids,
        "true_starts": [json.dumps(syn.rep_true_start[a:b].tolist()) for a, b in zip(bounds[:-1], bounds[1:])],
        "true_ends": [json.dumps(syn.rep_true_end[a:b].tolist()) for a, b in zip(bounds[:-1], bounds[1:])],
    }, n_rows=n_clips)
    bulk_insert(TrueSeverity, {
        "repetition_id": rep_ids[syn.item_rep], "error_type_id": error_type_ids[syn.item_error_type],
        "severity": syn.item_true_severity.astype(np.int16),
    }, n_rows=len(syn.item_rep))
    report(0.65, "repetitions and truth written")

    user_ids = _annotator_users(name, syn)
    AnnotatorProfile.objects.bulk_create(
        AnnotatorProfile(dataset=dataset, user_id=int(user_ids[i]),
                         role="endpoints" if syn.annotator_kind[i] == 0 else "severity",
                         params=json.loads(json.dumps(syn.annotator_params[i], default=float)))
        for i in range(len(user_ids))
    )
    bulk_insert(EndPointMark, {
        "clip_id": clip_ids[syn.mark_clip], "annotator_id": user_ids[syn.mark_annotator],
        "frame": syn.mark_frame.astype(np.int64), "client_key": "synthetic", "created_at": now,
    }, n_rows=len(syn.mark_clip))
    report(0.75, "end-point marks written")
    bulk_insert(SeverityVote, {
        "repetition_id": rep_ids[syn.item_rep[syn.vote_item]],
        "error_type_id": error_type_ids[syn.item_error_type[syn.vote_item]],
        "annotator_id": user_ids[syn.vote_annotator], "value": syn.vote_value.astype(np.int16),
        "client_key": "synthetic", "created_at": now,
    }, n_rows=len(syn.vote_item))
    report(0.92, "votes written")

    n_assignments = _write_assignments(syn=syn, clip_ids=clip_ids, user_ids=user_ids, now=now)
    for model in (Participant, Clip, Repetition):
        reset_sequence(model)
    report(1.0, "done")
    return dataset, {"participants": n_part, "clips": n_clips, "repetitions": n_reps, "annotators": len(user_ids),
                     "end_point_marks": len(syn.mark_clip), "severity_votes": len(syn.vote_item),
                     "assignments": n_assignments}


def _write_assignments(*, syn, clip_ids, user_ids, now) -> int:
    """Every simulated label comes from an assignment, submitted. Returns how many were written."""
    n_ann = len(user_ids)
    written = 0
    for kind, clip_idx, ann_idx in (
        (Assignment.Kind.ENDPOINTS, syn.mark_clip, syn.mark_annotator),
        (Assignment.Kind.SEVERITY, syn.rep_clip[syn.item_rep[syn.vote_item]], syn.vote_annotator),
    ):
        pairs = np.unique(clip_idx.astype(np.int64) * n_ann + ann_idx)
        bulk_insert(Assignment, {
            "annotator_id": user_ids[pairs % n_ann], "clip_id": clip_ids[pairs // n_ann],
            "kind": kind.value, "item_ref": "", "state": Assignment.State.SUBMITTED.value, "created_at": now,
            "submitted_at": now,
        }, n_rows=len(pairs))
        written += len(pairs)
    return written
