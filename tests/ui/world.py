"""Test worlds for the browser tests and the UI benchmark: real synthetic pose, no labels yet.

Built from the Halo generator's arrays (exercises, error types, repetitions, 26-joint pose) but
written through the ordinary services, with no simulated annotators, so every clip still needs
labels and the work queue has something to hand out. Optionally the generator's simulated
votes are written too, for the aggregation pages.
"""
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
               with_votes: bool = False, with_marks: bool = False) -> Dataset:
    """A Halo-style dataset of ``n_clips`` clips with pose, repetitions and error types.

    ``min_frames``: pad a clip's pose to at least this many frames by repeating it (the
    2,500-frame benchmark clip). ``with_votes`` / ``with_marks``: also store the generator's
    simulated severity votes / end marks under submitted assignments.
    """
    syn = generate_halo(n_clips=n_clips, seed=seed)
    dataset = Dataset.objects.create(name=name, kind=Dataset.Kind.HALO, is_synthetic=True, synthetic_seed=seed)
    exercises = [Exercise.objects.create(dataset=dataset, slug=e.slug, name=e.name, joint_count=26, dims=2)
                 for e in syn.exercises]
    error_types = [ErrorType.objects.create(exercise=exercises[ex], code=spec.code, description=spec.name,
                                            generic_name=spec.generic_name, annotator_kappa1=spec.kappa1_target)
                   for ex, spec in syn.error_types]
    participants = [Participant.objects.create(dataset=dataset, external_id=f"P{i:04d}", skill_level=int(s))
                    for i, s in enumerate(syn.participant_skill)]
    clips, reps = [], []
    for i in range(n_clips):
        pose = syn.clip_pose(i)
        if min_frames and pose.shape[0] < min_frames:
            pose = np.concatenate([pose] * (-(-min_frames // pose.shape[0])))[:min_frames]
        clip = clip_create(dataset=dataset, exercise=exercises[int(syn.clip_exercise[i])],
                           participant=participants[int(syn.clip_participant[i])],
                           external_id=f"{name}-{i:04d}", fps=float(syn.fps), pose_data=pose_bytes(pose),
                           source="synthetic")
        clips.append(clip)
    for r in range(syn.n_reps):
        reps.append(Repetition(clip=clips[int(syn.rep_clip[r])], index=int(syn.rep_index[r])))
    reps = Repetition.objects.bulk_create(reps)
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
        SeverityVote.objects.bulk_create(
            SeverityVote(repetition=reps[int(syn.item_rep[item])], error_type=error_types[int(syn.item_error_type[item])],
                         annotator=user(int(a)), value=int(v), client_key="sim")
            for item, a, v in zip(syn.vote_item, syn.vote_annotator, syn.vote_value))
        pairs = {(int(syn.rep_clip[syn.item_rep[item]]), int(a)) for item, a in zip(syn.vote_item, syn.vote_annotator)}
        Assignment.objects.bulk_create(Assignment(annotator=user(a), clip=clips[c], kind=Assignment.Kind.SEVERITY,
                                                  state=Assignment.State.SUBMITTED) for c, a in sorted(pairs))
    if marks:
        EndPointMark.objects.bulk_create(
            [EndPointMark(clip=clips[int(c)], annotator=user(int(a)), frame=int(f), client_key="sim")
             for c, a, f in zip(syn.mark_clip, syn.mark_annotator, syn.mark_frame)], ignore_conflicts=True)
        pairs = {(int(c), int(a)) for c, a in zip(syn.mark_clip, syn.mark_annotator)}
        Assignment.objects.bulk_create(Assignment(annotator=user(a), clip=clips[c], kind=Assignment.Kind.ENDPOINTS,
                                                  state=Assignment.State.SUBMITTED) for c, a in sorted(pairs))
