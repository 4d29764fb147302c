"""Small training datasets with pose that carries the labels' signal, built in a few seconds.

`make_training_dataset` writes a Halo-like dataset (two exercises, two error types each) whose
pose arrays come from the synthetic skeleton's forward kinematics, so a severity really changes
the motion (a shallower squat, a dropped head), plus a participant-disjoint split version and
end-point / severity label sets. Everything the training jobs read, nothing they do not.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from datasets.core.pose_io import content_hash, pose_bytes
from datasets.core.synthetic import skeleton as sk
from annotation.models import AgreementReport, EndPointLabel, ErrorTypeAgreement, LabelSet, SeverityLabel
from datasets.models import Clip, Dataset, ErrorType, Exercise, Participant, Repetition, SplitMembership, SplitVersion
from tests.factories import DatasetFactory

FPS = 30.0

# Keyframe excursions (dof -> radians at the bottom of a repetition) per exercise.
_MOTIONS = {
    "squat_like": {sk.DOF_HIP_L: 1.6, sk.DOF_HIP_R: 1.6, sk.DOF_KNEE_L: 1.9, sk.DOF_KNEE_R: 1.9, sk.DOF_TRUNK: 0.5},
    "press_like": {sk.DOF_SH_L: 2.6, sk.DOF_SH_R: 2.6, sk.DOF_ELBOW_L: 1.6, sk.DOF_ELBOW_R: 1.6},
}
# Error effects: ("scale", factor per severity level) shrinks the excursion; ("add", dof, rad per
# level) adds an offset at the bottom.
_ERRORS = {
    "squat_like": (("incomplete_descent", "incomplete_descent", ("scale", 0.2)),
                   ("head_dropping_downward", "head_dropping_downward", ("add", sk.DOF_NECK, 0.3))),
    "press_like": (("incomplete_reach", "incomplete_descent", ("scale", 0.2)),
                   ("torso_tilt", "torso_tilt", ("add", sk.DOF_TRUNK, 0.25))),
}


@dataclass
class TrainingData:
    dataset: Dataset
    split: SplitVersion
    exercises: list[Exercise]
    error_types: list[ErrorType]
    clips: list[Clip]
    true_ends: dict[int, np.ndarray]
    severity: dict[tuple[int, int], int] = field(default_factory=dict)  # (repetition id, error type id) -> class
    endpoint_set: object = None
    severity_set: object = None
    disagreeing_test_clips: int = 0


def render_pose(*, exercise: str, n_reps: int, severities: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 26, 2) float32 pixels and the true end frame of each repetition.

    ``severities`` has shape (n_reps, 2): the class of each of the exercise's two error types.
    """
    motion, errors = _MOTIONS[exercise], _ERRORS[exercise]
    lengths = rng.integers(36, 60, size=n_reps)
    rests = rng.integers(6, 14, size=n_reps + 1)
    n_frames = int(lengths.sum() + rests.sum())
    dofs = np.zeros((n_frames, sk.N_DOF))
    ends = np.empty(n_reps)
    t = int(rests[0])
    for r in range(n_reps):
        phase = np.sin(np.pi * np.arange(lengths[r] + 1) / lengths[r]) ** 2  # rest -> bottom -> rest
        amplitude = rng.uniform(0.92, 1.08)
        for e, (_, _, effect) in enumerate(errors):
            if effect[0] == "scale":
                amplitude *= 1.0 - effect[1] * severities[r, e]
        frames = slice(t, t + lengths[r] + 1)
        for dof, value in motion.items():
            dofs[frames, dof] += amplitude * value * phase
        for e, (_, _, effect) in enumerate(errors):
            if effect[0] == "add":
                dofs[frames, effect[1]] += effect[2] * severities[r, e] * phase
        t += int(lengths[r])
        ends[r] = t
        t += int(rests[r + 1])
    joints = sk.place_on_floor(sk.forward_kinematics(dofs), np.zeros(n_frames))
    pixels = sk.project(joints, yaw=rng.uniform(-0.3, 0.3), facing=1.0, scale_px=rng.uniform(300, 420),
                        centre_px=(640.0 + rng.uniform(-80, 80), 650.0))
    pixels = pixels + rng.normal(scale=1.5, size=pixels.shape)
    pixels[rng.random(pixels.shape[:2]) < 0.02] = np.nan  # dropped joints
    return pixels.astype(np.float32), ends


def _store_pose(dataset_id: int, pose: np.ndarray) -> tuple[str, str]:
    data = pose_bytes(pose)
    digest = content_hash(data)
    path = f"pose/{dataset_id}/{digest[:2]}/{digest}.npy"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(data))
    return path, digest


def make_training_dataset(*, n_clips: int = 40, n_participants: int = 12, seed: int = 0, with_pose: bool = True,
                          holdout: tuple[str, ...] = (), split_ratios=(0.5, 0.25, 0.25)) -> TrainingData:
    """A two-exercise dataset with pose, hidden severities and a participant-disjoint split.

    Label sets are added by `add_label_sets`.
    """
    rng = np.random.default_rng(seed)
    dataset = DatasetFactory(kind=Dataset.Kind.HALO)
    exercises, error_types = [], []
    for slug in _MOTIONS:
        exercise = Exercise.objects.create(dataset=dataset, slug=slug, name=slug.replace("_", " "),
                                           skeleton_layout="halo26", joint_count=26, dims=2)
        exercises.append(exercise)
        for code, generic, _ in _ERRORS[slug]:
            error_types.append(ErrorType.objects.create(exercise=exercise, code=code, generic_name=generic,
                                                        annotator_kappa1=0.8))
    participants = [Participant.objects.create(dataset=dataset, external_id=f"P{i:03d}", skill_level=1)
                    for i in range(n_participants)]
    clips, true_ends, severity = [], {}, {}
    for i in range(n_clips):
        exercise = exercises[(i + i // n_participants) % len(exercises)]  # every participant does both
        n_reps = int(rng.integers(3, 7))
        sev = rng.choice(4, size=(n_reps, 2), p=[0.4, 0.25, 0.2, 0.15])
        pose, ends = render_pose(exercise=exercise.slug, n_reps=n_reps, severities=sev, rng=rng)
        path, digest = _store_pose(dataset.pk, pose) if with_pose else ("", "")
        clip = Clip.objects.create(dataset=dataset, participant=participants[i % n_participants], exercise=exercise,
                                   external_id=f"{dataset.name}-{i:04d}", fps=FPS, frame_count=pose.shape[0],
                                   pose_file=path, content_hash=digest, source="test")
        reps = Repetition.objects.bulk_create(Repetition(clip=clip, index=r) for r in range(n_reps))
        ets = [e for e in error_types if e.exercise_id == exercise.pk]
        for r, rep in enumerate(reps):
            for e, et in enumerate(ets):
                severity[(rep.pk, et.pk)] = int(sev[r, e])
        clips.append(clip)
        true_ends[clip.pk] = ends
    split = make_split(dataset=dataset, clips=clips, participants=participants, rng=rng, holdout=holdout,
                       ratios=split_ratios)
    return TrainingData(dataset=dataset, split=split, exercises=exercises, error_types=error_types, clips=clips,
                        true_ends=true_ends, severity=severity)


def make_split(*, dataset, clips, participants, rng, holdout=(), ratios=(0.5, 0.25, 0.25), version=1) -> SplitVersion:
    """A participant-disjoint split written directly (held-out exercises' clips go to test)."""
    order = rng.permutation(len(participants))
    cut1 = int(round(ratios[0] * len(order)))
    cut2 = cut1 + int(round(ratios[1] * len(order)))
    part_split = {participants[p].pk: (0 if k < cut1 else 1 if k < cut2 else 2) for k, p in enumerate(order)}
    held = {e.pk for e in Exercise.objects.filter(dataset=dataset, slug__in=holdout)}
    split = SplitVersion.objects.create(
        dataset=dataset, version=version, source=SplitVersion.Source.MADE, manifest_hash="test" * 16,
        params={"holdout_exercises": list(holdout)}, seed=0,
    )
    SplitMembership.objects.bulk_create(
        SplitMembership(split_version=split, clip=c, split=2 if c.exercise_id in held else part_split[c.participant_id])
        for c in clips
    )
    return split


def _label_set(dataset, kind: str, *, item_count: int) -> LabelSet:
    number = LabelSet.objects.filter(dataset=dataset, kind=kind).count() + 1
    LabelSet.objects.filter(dataset=dataset, kind=kind, is_current=True).update(is_current=False)
    now = timezone.now()
    return LabelSet.objects.create(
        dataset=dataset, kind=kind, number=number, method="test", input_count=item_count, input_hash="t" * 64,
        item_count=item_count, is_current=True, started_at=now, finished_at=now,
    )


def add_label_sets(data: TrainingData, *, seed: int = 0, disagree_share: float = 0.15, votes: int = 10,
                   vote_accuracy: float = 0.8, constant_in_train: dict[str, int] | None = None,
                   annotator_kappa1: float = 0.9) -> TrainingData:
    """New current end-point and severity label sets (and an agreement report) for ``data``.

    End points: the true ends with +/-2 frames of jitter; a seeded ``disagree_share`` of the clips
    is flagged as disagreeing. Severity: ``votes`` simulated votes per item, each the true class
    with probability ``vote_accuracy`` and one class off otherwise; majority, mean and a BMM-like
    score (mean / 3). ``constant_in_train`` forces every training item of an error type (by code)
    to one class.
    """
    rng = np.random.default_rng(seed)
    split_of = dict(SplitMembership.objects.filter(split_version=data.split).values_list("clip_id", "split"))
    endpoint_set = _label_set(data.dataset, LabelSet.Kind.ENDPOINTS, item_count=len(data.clips))
    disagree = {c.pk: bool(rng.random() < disagree_share) for c in data.clips}
    EndPointLabel.objects.bulk_create(
        EndPointLabel(label_set=endpoint_set, clip_id=c.pk, n_annotators=3, count=len(data.true_ends[c.pk]),
                      ends=(data.true_ends[c.pk] + rng.uniform(-2, 2, len(data.true_ends[c.pk]))).round(2).tolist(),
                      spread=[1.0] * len(data.true_ends[c.pk]), disagree=disagree[c.pk],
                      reason="end_spread" if disagree[c.pk] else "")
        for c in data.clips
    )
    data.disagreeing_test_clips = sum(1 for c in data.clips if disagree[c.pk] and split_of.get(c.pk) == 2)
    codes = {e.pk: e.code for e in data.error_types}
    clip_of = dict(Repetition.objects.filter(clip__dataset=data.dataset).values_list("pk", "clip_id"))
    rows = []
    for (rep_id, et_id), true in sorted(data.severity.items()):
        off = rng.choice([-1, 1], size=votes)
        right = rng.random(votes) < vote_accuracy
        cast = np.clip(np.where(right, true, true + off), 0, 3)
        forced = (constant_in_train or {}).get(codes[et_id])
        if forced is not None and split_of.get(clip_of[rep_id]) == 0:
            cast = np.full(votes, forced)
        majority = int(np.bincount(cast, minlength=4).argmax())
        rows.append(SeverityLabel(label_set_id=0, repetition_id=rep_id, error_type_id=et_id, n_votes=votes,
                                  mean=float(cast.mean()), majority=majority, bmm_score=float(cast.mean() / 3)))
    severity_set = _label_set(data.dataset, LabelSet.Kind.SEVERITY, item_count=len(rows))
    for row in rows:
        row.label_set_id = severity_set.pk
    SeverityLabel.objects.bulk_create(rows)
    report = AgreementReport.objects.create(dataset=data.dataset, label_set=severity_set, input_count=len(rows) * votes,
                                            input_hash="t" * 64)
    ErrorTypeAgreement.objects.bulk_create(
        ErrorTypeAgreement(report=report, error_type_id=e.pk, n_items=1, n_votes=votes, n_annotators=votes,
                           kappa1=annotator_kappa1, target_kappa1=0.85 * annotator_kappa1)
        for e in data.error_types
    )
    data.endpoint_set, data.severity_set = endpoint_set, severity_set
    return data
