"""Fixtures of the kg tests: the shipped graph loaded, and a FLEX sample with its six people."""
from types import SimpleNamespace

import pytest

from annotation.models import Assignment
from kg.models import GraphVersion
from kg.services.graph import graph_load
from tests.factories import UserFactory
from tests.kg.factories import AssignmentFactory, FlexClipFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the shipped graph once into the test database; every test rolls back on top of it.
    (A transactional test flushes it; the ``graph`` fixture then loads it again.)"""
    with django_db_blocker.unblock():
        graph_load()


@pytest.fixture
def graph(db):
    return GraphVersion.objects.filter(is_current=True).first() or graph_load()[0]


@pytest.fixture
def empty_graph_tables(db):
    """No graph loaded, for the importer tests (the deletion rolls back with the test)."""
    GraphVersion.objects.all().delete()


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
