"""Factories for raw labels and small voted datasets built from a vote array."""
from dataclasses import dataclass

import factory
import numpy as np

from annotation.models import Assignment, EndPointMark, SeverityVote
from tests.factories import (
    ClipFactory, DatasetFactory, ErrorTypeFactory, ExerciseFactory, RepetitionFactory, UserFactory,
)


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    annotator = factory.SubFactory(UserFactory, roles=["annotator"])
    clip = factory.SubFactory(ClipFactory)
    kind = Assignment.Kind.SEVERITY
    state = Assignment.State.SUBMITTED


class SeverityVoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SeverityVote

    repetition = factory.SubFactory(RepetitionFactory)
    error_type = factory.SubFactory(ErrorTypeFactory, exercise=factory.SelfAttribute("..repetition.clip.exercise"))
    annotator = factory.SubFactory(UserFactory, roles=["annotator"])
    value = 0
    client_key = "factory"


class EndPointMarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EndPointMark

    clip = factory.SubFactory(ClipFactory)
    annotator = factory.SubFactory(UserFactory, roles=["annotator"])
    frame = 10
    client_key = "factory"


@dataclass
class VotedDataset:
    dataset: object
    clip: object
    repetitions: list
    error_types: list
    annotators: list


def voted_dataset(votes, *, name=None) -> VotedDataset:
    """One clip whose repetitions x error types x annotators get ``votes[r, e, a]`` (-1: no vote).

    Votes go in with one ``bulk_create`` and every annotator gets a submitted severity assignment.
    """
    votes = np.asarray(votes)
    n_reps, n_error_types, n_annotators = votes.shape
    dataset = DatasetFactory(**({"name": name} if name else {}))
    exercise = ExerciseFactory(dataset=dataset)
    clip = ClipFactory(exercise=exercise, dataset=dataset)
    repetitions = [RepetitionFactory(clip=clip, index=i) for i in range(n_reps)]
    error_types = [ErrorTypeFactory(exercise=exercise) for _ in range(n_error_types)]
    annotators = UserFactory.create_batch(n_annotators, roles=["annotator"])
    for annotator in annotators:
        AssignmentFactory(annotator=annotator, clip=clip)
    SeverityVote.objects.bulk_create(
        SeverityVote(repetition=repetitions[r], error_type=error_types[e], annotator=annotators[a],
                     value=int(votes[r, e, a]), client_key="factory")
        for r, e, a in zip(*np.nonzero(votes >= 0))
    )
    return VotedDataset(dataset=dataset, clip=clip, repetitions=repetitions, error_types=error_types,
                        annotators=annotators)


def noisy_votes(*, n_reps=40, n_error_types=2, n_annotators=5, seed=0) -> np.ndarray:
    """Votes around a random true class per item: mostly right, sometimes one class off."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, size=(n_reps, n_error_types, 1))
    noise = rng.choice([-1, 0, 0, 0, 1], size=(n_reps, n_error_types, n_annotators))
    return np.clip(truth + noise, 0, 3)
