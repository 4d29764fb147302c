"""factory_boy factories shared by every test package."""
import factory
import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from datasets.models import Clip, Dataset, ErrorType, Exercise, Participant, Repetition


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-12345678")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            group, _ = Group.objects.get_or_create(name=role)
            self.groups.add(group)
        if create:
            self.save()


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    name = factory.Sequence(lambda n: f"ds{n}")


class ExerciseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exercise

    dataset = factory.SubFactory(DatasetFactory)
    slug = factory.Sequence(lambda n: f"exercise_{n}")
    name = factory.Sequence(lambda n: f"Exercise {n}")
    joint_count = 26
    dims = 2


class ErrorTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ErrorType

    exercise = factory.SubFactory(ExerciseFactory)
    code = factory.Sequence(lambda n: f"error_{n}")
    description = "An error"


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    dataset = factory.SubFactory(DatasetFactory)
    external_id = factory.Sequence(lambda n: f"P{n:04d}")
    skill_level = 1


class ClipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clip

    exercise = factory.SubFactory(ExerciseFactory)
    dataset = factory.SelfAttribute("exercise.dataset")
    participant = factory.SubFactory(ParticipantFactory, dataset=factory.SelfAttribute("..dataset"))
    external_id = factory.Sequence(lambda n: f"clip-{n}")
    fps = 30.0
    frame_count = 300


class RepetitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repetition

    clip = factory.SubFactory(ClipFactory)
    index = factory.Sequence(lambda n: n)


def pose_array(frames=120, joints=26, dims=2, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(frames, joints, dims)).astype(np.float32)
