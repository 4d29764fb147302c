"""Test worlds for the browser tests and the UI benchmark: real synthetic pose, no labels yet.

Built from the Halo generator's arrays (exercises, error types, repetitions, 26-joint pose) but
written through the ordinary services, with no simulated annotators, so every clip still needs
labels and the work queue has something to hand out. Optionally the generator's simulated
votes are written too, for the aggregation pages.
"""
import uuid

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from annotation.models import Assignment, EndPointMark, SeverityVote
from datasets.core.synthetic import generate_halo
from datasets.models import Dataset, ErrorType, Exercise, Participant, Repetition
from datasets.services.clips import clip_create
from datasets.core.pose_io import pose_bytes

User = get_user_model()


def halo_world(*, name: str, n_clips: int = 3, seed: int = 0, min_frames: int | None = None,
               with_votes: bool = False, with_marks: bool = False, n_participants: int | None = None,
               only_exercises: tuple[str, ...] = ()) -> Dataset:
    """A Halo-style dataset of ``n_clips`` clips with pose, repetitions and error types.

    ``min_frames``: pad a clip's pose to at least this many frames by repeating it (the
    2,500-frame benchmark clip). ``with_votes`` / ``with_marks``: also store the generator's
    simulated severity votes / end marks under submitted assignments. ``only_exercises``: keep
    only the generated clips of these exercise slugs (and their labels).
    """
    syn = generate_halo(n_clips=n_clips, seed=seed, n_participants=n_participants)
    dataset = Dataset.objects.create(name=name, kind=Dataset.Kind.HALO, is_synthetic=True, synthetic_seed=seed)
    exercises = Exercise.objects.bulk_create(
        Exercise(dataset=dataset, slug=e.slug, name=e.name, joint_count=26, dims=2) for e in syn.exercises)
    error_types = ErrorType.objects.bulk_create(
        ErrorType(exercise=exercises[ex], code=spec.code, description=spec.name, generic_name=spec.generic_name,
                  annotator_kappa1=spec.kappa1_target) for ex, spec in syn.error_types)
    participants = Participant.objects.bulk_create(
        Participant(dataset=dataset, external_id=f"P{i:04d}", skill_level=int(s))
        for i, s in enumerate(syn.participant_skill))
    clips, reps = {}, {}
    for i in range(n_clips):
        if only_exercises and syn.exercises[int(syn.clip_exercise[i])].slug not in only_exercises:
            continue
        pose = syn.clip_pose(i)
        if min_frames and pose.shape[0] < min_frames:
            pose = np.concatenate([pose] * (-(-min_frames // pose.shape[0])))[:min_frames]
        clip = clip_create(dataset=dataset, exercise=exercises[int(syn.clip_exercise[i])],
                           participant=participants[int(syn.clip_participant[i])],
                           external_id=f"{name}-{i:04d}", fps=float(syn.fps), pose_data=pose_bytes(pose),
                           source="synthetic")
        clips[i] = clip
    kept = [r for r in range(syn.n_reps) if int(syn.rep_clip[r]) in clips]
    created = Repetition.objects.bulk_create(
        Repetition(clip=clips[int(syn.rep_clip[r])], index=int(syn.rep_index[r])) for r in kept)
    reps = dict(zip(kept, created))
    if with_votes or with_marks:
        _simulated_labels(syn=syn, dataset=dataset, clips=clips, reps=reps, error_types=error_types,
                          votes=with_votes, marks=with_marks)
    return dataset


def _simulated_labels(*, syn, dataset, clips, reps, error_types, votes, marks):
    group, _ = Group.objects.get_or_create(name="annotator")
    users = {}

    def user(i):
        if i not in users:
            users[i] = User.objects.create(username=f"sim-{dataset.name}-{i:04d}", password="!")
            group.user_set.add(users[i])
        return users[i]

    if votes:
        kept = [k for k in range(len(syn.vote_item)) if int(syn.item_rep[syn.vote_item[k]]) in reps]
        SeverityVote.objects.bulk_create(
            SeverityVote(repetition=reps[int(syn.item_rep[syn.vote_item[k]])],
                         error_type=error_types[int(syn.item_error_type[syn.vote_item[k]])],
                         annotator=user(int(syn.vote_annotator[k])), value=int(syn.vote_value[k]), client_key="sim")
            for k in kept)
        pairs = {(int(syn.rep_clip[syn.item_rep[syn.vote_item[k]]]), int(syn.vote_annotator[k])) for k in kept}
        Assignment.objects.bulk_create(Assignment(annotator=user(a), clip=clips[c], kind=Assignment.Kind.SEVERITY,
                                                  state=Assignment.State.SUBMITTED) for c, a in sorted(pairs))
    if marks:
        kept = [k for k in range(len(syn.mark_clip)) if int(syn.mark_clip[k]) in clips]
        EndPointMark.objects.bulk_create(
            [EndPointMark(clip=clips[int(syn.mark_clip[k])], annotator=user(int(syn.mark_annotator[k])),
                          frame=int(syn.mark_frame[k]), client_key="sim") for k in kept], ignore_conflicts=True)
        pairs = {(int(syn.mark_clip[k]), int(syn.mark_annotator[k])) for k in kept}
        Assignment.objects.bulk_create(Assignment(annotator=user(a), clip=clips[c], kind=Assignment.Kind.ENDPOINTS,
                                                  state=Assignment.State.SUBMITTED) for c, a in sorted(pairs))


def flex_world(*, name: str, n_clips: int = 1, action_index: int = 1, seed: int = 0) -> Dataset:
    """A FLEX dataset of ``n_clips`` unlabelled samples of one graph action (3-D pose, 21 joints)."""
    from kg.core.pose import FLEX_JOINTS, repetition_pose
    from kg.services.graph import compiled_graph, graph_load

    version, _ = graph_load()
    action = compiled_graph(version).actions[action_index - 1]
    dataset = Dataset.objects.create(name=name, kind=Dataset.Kind.FLEX, is_synthetic=True, synthetic_seed=seed)
    exercise = Exercise.objects.create(dataset=dataset, slug=action.code.lower(), name=action.name,
                                       skeleton_layout="flex21", joint_count=len(FLEX_JOINTS), dims=3)
    participant = Participant.objects.create(dataset=dataset, external_id="S001", skill_level=1)
    rng = np.random.default_rng(seed)
    for i in range(n_clips):
        pose = repetition_pose(action_index, [], n_frames=90, rng=rng)
        clip = clip_create(dataset=dataset, exercise=exercise, participant=participant,
                           external_id=f"{name}-{i:03d}", fps=30.0, pose_data=pose_bytes(pose), source="synthetic")
        Repetition.objects.create(clip=clip, index=0)
    return dataset


def flex_stage1_done(dataset: Dataset, sets=(["AK01:ET002"], ["AK01:ET002", "AK01:ET004"],
                                            ["AK01:ET002", "AK01:ET004"])) -> None:
    """Three annotators submit stage 1 of every sample of a FLEX world of action A01."""
    from kg.selectors import sample_get_for_user
    from kg.services.two_stage import stage1_submit
    from tests.factories import UserFactory

    annotators = [UserFactory(roles=["annotator"]) for _ in sets]
    for clip in dataset.clips.all():
        for i, (annotator, slots) in enumerate(zip(annotators, sets)):
            Assignment.objects.create(annotator=annotator, clip=clip, kind=Assignment.Kind.FLEX_STAGE1)
            stage1_submit(user=annotator, sample=sample_get_for_user(user=annotator, clip_id=clip.pk),
                          client_key=f"stage1-{clip.pk}-{i}-{uuid.uuid4().hex[:8]}", slots=slots)
