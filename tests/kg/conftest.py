"""Fixtures of the kg tests: the shipped graph loaded, and a FLEX sample with its six people."""
from types import SimpleNamespace

import pytest

from annotation.models import Assignment
from kg.services.graph import graph_load
from tests.kg.factories import AssignmentFactory, FlexClipFactory
from tests.factories import UserFactory


@pytest.fixture
def graph(db):
    version, _ = graph_load()
    return version


@pytest.fixture
def sample(graph):
    """An overhead-press clip with three stage-1 annotators and three reviewers assigned."""
    clip = FlexClipFactory()
    annotators = UserFactory.create_batch(3, roles=["annotator"])
    reviewers = UserFactory.create_batch(3, roles=["reviewer"])
    for user in annotators:
        AssignmentFactory(annotator=user, clip=clip, kind=Assignment.Kind.FLEX_STAGE1)
    for user in reviewers:
        AssignmentFactory(annotator=user, clip=clip, kind=Assignment.Kind.FLEX_STAGE2)
    return SimpleNamespace(clip=clip, annotators=annotators, reviewers=reviewers, graph=graph)
