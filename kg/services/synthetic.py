"""Writing a synthetic FLEX-like dataset: samples, 3D pose, two-stage labels and hidden truth.

``make_demo_data --kind flex`` calls :func:`flex_demo_create`. The generator
(:mod:`kg.core.synthetic`) returns arrays; this service writes them with bulk COPY in one
transaction, so a failed run leaves no rows behind (and removes the pose files it wrote). COPY
sends no signals, so a run records itself with one audit entry (the dataset, with the row counts it
wrote) in that same transaction.
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

from annotation.models import Assignment
from annotation.roles import ANNOTATOR, REVIEWER
from audit.services import audit_record
from config.exceptions import ConflictError
from datasets.bulk import bulk_insert, db_now, reserve_ids, reset_sequence
from datasets.core.pose_io import content_hash, pose_bytes
from datasets.models import AnnotatorProfile, Clip, ClipTruth, Dataset, Exercise, Participant, Repetition
from kg.core.pose import FLEX_JOINTS
from kg.core.synthetic import FlexSynthetic, generate_flex
from kg.core.two_stage import stage1_proposal
from kg.models import FlexReview, FlexStage1Set, FlexTrueSlots, GraphVersion
from kg.services.graph import compiled_graph, graph_load

logger = logging.getLogger(__name__)
User = get_user_model()

FPS = 30.0
LAYOUT = "flex21"


def _current_graph_version() -> GraphVersion:
    version = GraphVersion.objects.filter(is_current=True).first()
    if version is None:
        # A demo should work on a fresh database: load the shipped graph first.
        version, _ = graph_load()
    return version


def _users(names: list[str], group_name: str) -> np.ndarray:
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create([User(username=n, password="!") for n in names if n not in existing])  # unusable pw
    ids = dict(User.objects.filter(username__in=names).values_list("username", "id"))
    group, _ = Group.objects.get_or_create(name=group_name)
    group.user_set.add(*ids.values())
    return np.array([ids[n] for n in names], dtype=np.int64)


def _keys(keys_by_action, action, marks) -> list[str]:
    """JSON text of the marked slot keys per row."""
    return [json.dumps([keys_by_action[a][p] for p in np.flatnonzero(row)]) for a, row in zip(action, marks)]


def flex_demo_create(*, name: str, n_clips: int, seed: int, with_pose: bool = True, progress=None) -> Dataset:
    """Generate and store a FLEX-like dataset of ``n_clips`` samples (one repetition each).

    Creates a ``Dataset(kind="flex")`` with one exercise per graph action (``flex21`` layout,
    21 joints, 3-D), participants with skill levels, clips with ``.npy`` pose when ``with_pose``,
    simulated stage-1 annotators and reviewers (users ``sim-<name>-fa0001``, ``sim-<name>-fr0001``
    with their noise parameters in ``AnnotatorProfile``), their submitted assignments, stage-1 sets
    and reviews, and the hidden true slots (``FlexTrueSlots``). Refuses an existing name.
    """
    if Dataset.objects.filter(name=name).exists():
        raise ConflictError(f"Dataset {name!r} already exists.", code="dataset_exists")
    report = progress or (lambda fraction, message="": None)
    t0 = time.perf_counter()
    version = _current_graph_version()
    graph = compiled_graph(version)
    syn = generate_flex(graph, n_samples=n_clips, seed=seed)
    report(0.1, f"generated {n_clips} samples in {time.perf_counter() - t0:.1f}s")

    pose_paths = [""] * n_clips
    pose_hashes = [""] * n_clips
    written: list[str] = []
    if with_pose:
        for i in range(n_clips):
            data = pose_bytes(syn.pose(i, graph))
            digest = content_hash(data)
            path = f"pose/synthetic/{digest[:2]}/{digest}.npy"
            if not default_storage.exists(path):
                path = default_storage.save(path, ContentFile(data))
                written.append(path)
            pose_paths[i], pose_hashes[i] = path, digest
            if i % 500 == 0:
                report(0.1 + 0.4 * i / n_clips, f"pose {i}/{n_clips}")
    try:
        with transaction.atomic():
            dataset, counts = _write(name=name, seed=seed, syn=syn, graph=graph, version=version,
                                     pose_paths=pose_paths, pose_hashes=pose_hashes, report=report)
            # COPY sends no signals: the run records itself once, in its own transaction.
            audit_record(action="create", object_type="datasets.Dataset", object_id=dataset.pk,
                         dataset_id=dataset.pk, changes={"generator": "flex", "seed": seed, "with_pose": with_pose,
                                                         "graph_version": version.number, **counts})
    except Exception:
        for path in written:
            default_storage.delete(path)
        raise
    logger.info("kg.synthetic_created", extra={"dataset": name, "samples": n_clips,
                                                "seconds": round(time.perf_counter() - t0, 2)})
    report(1.0, "done")
    return dataset


def _write(*, name, seed, syn: FlexSynthetic, graph, version, pose_paths, pose_hashes,
           report) -> tuple[Dataset, dict]:
    """Write every row; return the dataset and the number of rows written per kind."""
    now = db_now()
    n = syn.n_samples
    dataset = Dataset.objects.create(
        name=name, kind=Dataset.Kind.FLEX, is_synthetic=True, synthetic_seed=seed,
        description=(f"Synthetic FLEX-like dataset: {n} samples of {len(graph.actions)} actions, "
                     f"{len(syn.participant_skill)} participants, graph v{version.number}, seed {seed}. "
                     f"Pose joints: {', '.join(FLEX_JOINTS)}."),
    )
    exercises = Exercise.objects.bulk_create(
        Exercise(dataset=dataset, slug=a.code.lower(), name=a.name, skeleton_layout=LAYOUT,
                 joint_count=len(FLEX_JOINTS), dims=3)
        for a in graph.actions
    )
    exercise_ids = np.array([e.pk for e in exercises], dtype=np.int64)

    n_part = len(syn.participant_skill)
    first = reserve_ids(Participant, n_part)
    participant_ids = np.arange(first, first + n_part, dtype=np.int64)
    participant_names = [f"S{i + 1:03d}" for i in range(n_part)]
    bulk_insert(Participant, {"id": participant_ids, "dataset_id": dataset.pk, "external_id": participant_names,
                              "skill_level": syn.participant_skill.astype(np.int16)}, n_rows=n_part)

    first = reserve_ids(Clip, n)
    clip_ids = np.arange(first, first + n, dtype=np.int64)
    codes = [a.code for a in graph.actions]
    bulk_insert(Clip, {
        "id": clip_ids, "dataset_id": dataset.pk, "participant_id": participant_ids[syn.sample_participant],
        "exercise_id": exercise_ids[syn.sample_action],
        "external_id": [f"{name}-{codes[a]}-{participant_names[p]}-r{r:02d}"
                        for a, p, r in zip(syn.sample_action, syn.sample_participant, syn.sample_rep)],
        "source": "synthetic", "fps": FPS, "frame_count": syn.sample_frames, "pose_file": pose_paths,
        "video_file": "", "content_hash": pose_hashes, "created_at": now,
    }, n_rows=n)
    # One FLEX sample is one repetition, spanning the whole clip.
    bulk_insert(Repetition, {"clip_id": clip_ids, "index": 0}, n_rows=n)
    bulk_insert(ClipTruth, {"clip_id": clip_ids, "true_starts": "[0]",
                            "true_ends": [json.dumps([int(f) - 1]) for f in syn.sample_frames]}, n_rows=n)
    report(0.6, "clips written")

    keys_by_action = [a.keys for a in graph.actions]
    action = syn.sample_action
    true_scores = syn.true_scores()
    bulk_insert(FlexTrueSlots, {
        "clip_id": clip_ids, "graph_version_id": version.pk, "slot_keys": _keys(keys_by_action, action, syn.truth),
        "penalty": (syn.truth * syn.weights).sum(axis=1), "score": true_scores,
    }, n_rows=n)

    annotator_ids = _users([f"sim-{name}-fa{i + 1:04d}" for i in range(len(syn.annotator_params))], ANNOTATOR)
    reviewer_ids = _users([f"sim-{name}-fr{i + 1:04d}" for i in range(len(syn.reviewer_params))], REVIEWER)
    AnnotatorProfile.objects.bulk_create(
        [AnnotatorProfile(dataset=dataset, user_id=int(uid), role=Assignment.Kind.FLEX_STAGE1.value, params=params)
         for uid, params in zip(annotator_ids, syn.annotator_params)]
        + [AnnotatorProfile(dataset=dataset, user_id=int(uid), role=Assignment.Kind.FLEX_STAGE2.value, params=params)
           for uid, params in zip(reviewer_ids, syn.reviewer_params)]
    )

    # Rows sample-major, then annotator: ids (and so the order sets are read back in) follow it.
    rep3 = np.repeat(np.arange(n), 3)
    stage1_keys = _keys(keys_by_action, action[rep3], syn.stage1.reshape(n * 3, -1))
    bulk_insert(FlexStage1Set, {
        "clip_id": clip_ids[rep3], "annotator_id": annotator_ids[syn.stage1_annotator.reshape(-1)],
        "graph_version_id": version.pk, "slot_keys": stage1_keys, "client_key": "synthetic", "created_at": now,
    }, n_rows=n * 3)
    report(0.75, "stage-1 sets written")
    proposal, _ = stage1_proposal(syn.stage1)
    proposal_keys = _keys(keys_by_action, action, proposal)
    bulk_insert(FlexReview, {
        "clip_id": clip_ids[rep3], "reviewer_id": reviewer_ids[syn.reviewer.reshape(-1)],
        "graph_version_id": version.pk, "approve": syn.review_approve.reshape(-1),
        "slot_keys": _keys(keys_by_action, action[rep3], syn.reviews.reshape(n * 3, -1)),
        "proposal_keys": [proposal_keys[i] for i in rep3], "client_key": "synthetic", "created_at": now,
    }, n_rows=n * 3)
    report(0.85, "reviews written")
    for kind, users in ((Assignment.Kind.FLEX_STAGE1, annotator_ids[syn.stage1_annotator.reshape(-1)]),
                        (Assignment.Kind.FLEX_STAGE2, reviewer_ids[syn.reviewer.reshape(-1)])):
        bulk_insert(Assignment, {
            "annotator_id": users, "clip_id": clip_ids[rep3], "kind": kind.value, "item_ref": "",
            "state": Assignment.State.SUBMITTED.value, "created_at": now, "submitted_at": now,
        }, n_rows=n * 3)
    for model in (Participant, Clip):
        reset_sequence(model)
    report(0.95, "assignments written")
    return dataset, {"participants": n_part, "clips": n, "repetitions": n, "annotators": len(annotator_ids),
                     "reviewers": len(reviewer_ids), "stage1_sets": n * 3, "reviews": n * 3, "assignments": 2 * n * 3}
