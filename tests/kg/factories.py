"""Factories for FLEX samples and their raw labels. The graph itself is loaded from the shipped
file (fixture ``graph`` in conftest.py), never built row by row."""
import factory

from annotation.models import Assignment
from kg.models import FeedbackText, FlexReview, FlexStage1Set, GraphVersion
from tests.factories import ClipFactory, DatasetFactory, ExerciseFactory, ParticipantFactory, UserFactory

OHP = "Standing Barbell Overhead Press"


class FlexDatasetFactory(DatasetFactory):
    kind = "flex"


class FlexExerciseFactory(ExerciseFactory):
    """An exercise that stands for a graph action (matched by name)."""

    dataset = factory.SubFactory(FlexDatasetFactory)
    name = OHP
    slug = factory.Sequence(lambda n: f"flex_{n}")
    skeleton_layout = "flex21"
    joint_count = 21
    dims = 3


class FlexClipFactory(ClipFactory):
    exercise = factory.SubFactory(FlexExerciseFactory)
    participant = factory.SubFactory(ParticipantFactory, dataset=factory.SelfAttribute("..dataset"))
    frame_count = 90


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    annotator = factory.SubFactory(UserFactory, roles=["annotator"])
    clip = factory.SubFactory(FlexClipFactory)
    kind = Assignment.Kind.FLEX_STAGE1


class Stage1SetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlexStage1Set

    clip = factory.SubFactory(FlexClipFactory)
    annotator = factory.SubFactory(UserFactory, roles=["annotator"])
    graph_version = factory.LazyFunction(lambda: GraphVersion.objects.get(is_current=True))
    slot_keys = factory.LazyFunction(list)
    client_key = factory.Sequence(lambda n: f"s1-key-{n:06d}")


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlexReview

    clip = factory.SubFactory(FlexClipFactory)
    reviewer = factory.SubFactory(UserFactory, roles=["reviewer"])
    graph_version = factory.LazyFunction(lambda: GraphVersion.objects.get(is_current=True))
    approve = False
    slot_keys = factory.LazyFunction(list)
    proposal_keys = factory.LazyFunction(list)
    client_key = factory.Sequence(lambda n: f"s2-key-{n:06d}")


class FeedbackTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedbackText

    error_code = "ET001"
    version = factory.Sequence(lambda n: n + 1)
    text = factory.Sequence(lambda n: f"Place your feet shoulder-width apart ({n}).")
