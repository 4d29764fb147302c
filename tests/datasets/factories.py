"""Factories for split and export tests: a small Halo-like dataset with raw labels of every kind."""
from dataclasses import dataclass

import factory
import pytest
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotation.models import EndPointMark, ErrorSegment, FeedbackNote, SeverityVote
from datasets.core.pose_io import content_hash, pose_bytes
from datasets.core.synthetic.skeleton import JOINT_NAMES
from datasets.models import Clip, ErrorType, Exercise, Participant, Repetition, SplitMembership, SplitVersion
from tests.factories import DatasetFactory, UserFactory


@dataclass
class ToyDataset:
    dataset: object
    exercises: list
    error_types: dict          # exercise slug -> [ErrorType]
    participants: list
    clips: list
    annotators: list


def toy_dataset(*, name="toy", n_participants=12, clips_per_participant=3, exercises=("squat", "lunge", "burpee"),
                reps_per_clip=3, seed=0, with_pose=False, with_segments=True, with_feedback=True,
                votes_per_item=3) -> ToyDataset:
    """A dataset with participants of mixed skill, clips, repetitions, three annotators' end marks,
    severity votes on two error types per exercise (one sided: ``left_knee_in``), segments and feedback.
    """
    rng = np.random.default_rng(seed)
    dataset = DatasetFactory(name=name, description="A toy dataset for split and export tests.")
    exs = [Exercise.objects.create(dataset=dataset, slug=s, name=s.replace("_", " ").title(), joint_count=26, dims=2,
                                   skeleton_layout="halo26") for s in exercises]
    ets = {}
    for ex in exs:
        ets[ex.slug] = [ErrorType.objects.create(exercise=ex, code=f"{ex.slug}__left_knee_in", generic_name="knee_in"),
                        ErrorType.objects.create(exercise=ex, code=f"{ex.slug}__right_knee_in",
                                                 generic_name="knee_in")]
    parts = [Participant.objects.create(dataset=dataset, external_id=f"P{i:03d}", skill_level=int(i % 3))
             for i in range(n_participants)]
    annotators = [UserFactory(username=f"{name}-ann{i}") for i in range(max(3, votes_per_item))]
    clips = []
    marks, votes, segs, notes = [], [], [], []
    n = 0
    for p in parts:
        for k in range(clips_per_participant):
            ex = exs[(n + k) % len(exs)]
            frames = 90 + 30 * reps_per_clip
            clip = Clip(dataset=dataset, participant=p, exercise=ex, external_id=f"{name}-{n:04d}", fps=30.0,
                        frame_count=frames)
            if with_pose:
                pose = rng.normal(size=(frames, 26, 2)).astype(np.float32)
                data = pose_bytes(pose)
                digest = content_hash(data)
                path = f"pose/test/{digest[:2]}/{digest}.npy"
                if not default_storage.exists(path):
                    default_storage.save(path, ContentFile(data))
                clip.pose_file.name, clip.content_hash = path, digest
            clip.save()
            clips.append(clip)
            reps = Repetition.objects.bulk_create([Repetition(clip=clip, index=i) for i in range(reps_per_clip)])
            ends = 30 + 30 * np.arange(1, reps_per_clip + 1)
            for a in annotators[:3]:
                jitter = rng.integers(-2, 3, size=reps_per_clip)
                marks += [EndPointMark(clip=clip, annotator=a, frame=int(f), client_key="t") for f in ends + jitter]
            for rep in reps:
                for et in ets[ex.slug]:
                    base = int(rng.integers(0, 4))
                    for a in annotators[:votes_per_item]:
                        value = int(np.clip(base + rng.integers(-1, 2), 0, 3))
                        votes.append(SeverityVote(repetition=rep, error_type=et, annotator=a, value=value,
                                                  client_key="t"))
            if with_segments and n % 2 == 0:
                segs.append(ErrorSegment(clip=clip, error_type=ets[ex.slug][0], annotator=annotators[0],
                                         start_frame=40, end_frame=70, client_key="t"))
            if with_feedback and n % 3 == 0:
                notes.append(FeedbackNote(clip=clip, annotator=annotators[1], frame=45,
                                          text="=Keep your knees out", client_key="t"))
            n += 1
    EndPointMark.objects.bulk_create(marks)
    SeverityVote.objects.bulk_create(votes)
    ErrorSegment.objects.bulk_create(segs)
    FeedbackNote.objects.bulk_create(notes)
    return ToyDataset(dataset=dataset, exercises=exs, error_types=ets, participants=parts, clips=clips,
                      annotators=annotators)


def frozen_split(toy: ToyDataset, *, assignment=None, rule="participant", version=None) -> SplitVersion:
    """A split version written directly (participant i -> split i % 3 unless given)."""
    from datasets.core.splitting import manifest_hash

    if assignment is None:
        assignment = {c.pk: [0, 0, 1, 2][toy.participants.index(c.participant) % 4] for c in toy.clips}
    ext = {c.pk: c.external_id for c in toy.clips}
    by_split = {name: [ext[pk] for pk, s in assignment.items() if s == i] for i, name in enumerate(("train", "val", "test"))}
    number = version or (SplitVersion.objects.filter(dataset=toy.dataset).count() + 1)
    sv = SplitVersion.objects.create(dataset=toy.dataset, version=number, source="imported", rule=rule,
                                     manifest_hash=manifest_hash(by_split),
                                     counts={"clips": {k: len(v) for k, v in by_split.items()}})
    SplitMembership.objects.bulk_create(SplitMembership(split_version=sv, clip_id=pk, split=s)
                                        for pk, s in assignment.items())
    return sv


class SplitVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SplitVersion

    dataset = factory.SubFactory(DatasetFactory)
    version = factory.Sequence(lambda n: n + 1)
    source = "imported"
    manifest_hash = "0" * 64


HALPE_LEFT = [i for i, n in enumerate(JOINT_NAMES) if n.startswith("left")]


@pytest.fixture
def media_root(settings, tmp_path):
    """A private MEDIA_ROOT per test: pose files and API exports never land in the shared one."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
