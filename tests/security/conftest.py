import pytest
from django.conf import settings
from django.core.cache import caches
from rest_framework.test import APIClient

from annotation.models import Assignment
from tests.factories import ErrorTypeFactory, RepetitionFactory, UserFactory
from tests.security.routes import ANON, ROLES


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Login-failure counters and DRF throttles live in the cache; each test starts with none.
    caches["default"].clear()
    yield
    caches["default"].clear()


def _build_world():
    rep = RepetitionFactory(index=0)
    et = ErrorTypeFactory(exercise=rep.clip.exercise)
    foreign = RepetitionFactory(index=0)
    users = {role: UserFactory(roles=[role]) for role in ROLES if role != ANON}
    for user in users.values():
        for kind in (Assignment.Kind.SEVERITY, Assignment.Kind.ENDPOINTS, Assignment.Kind.SEGMENTS,
                     Assignment.Kind.FEEDBACK):
            Assignment.objects.create(annotator=user, clip=rep.clip, kind=kind)
    return {"rep": rep, "et": et, "clip": rep.clip, "dataset": rep.clip.dataset, "foreign": foreign.clip,
            "users": users}


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """One world for a whole module of read-mostly tests, committed once and removed at the end.

    Each test still runs in its own rolled-back transaction, so what a test writes disappears;
    only this world (two clips, four users) outlives the tests of the module.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    from audit.models import AuditEntry
    from datasets.models import Clip, Dataset, ErrorType, Exercise, Participant

    with django_db_blocker.unblock():
        world = _build_world()
        world["sessions"] = {role: _session_cookie(user) for role, user in world["users"].items()}
    yield world
    with django_db_blocker.unblock():
        ids = [world["dataset"].pk, world["foreign"].dataset_id]
        # Leaves first: clips hold PROTECT keys to exercises and participants.
        Assignment.objects.filter(clip__dataset_id__in=ids).delete()
        Clip.objects.filter(dataset_id__in=ids).delete()
        ErrorType.objects.filter(exercise__dataset_id__in=ids).delete()
        Exercise.objects.filter(dataset_id__in=ids).delete()
        Participant.objects.filter(dataset_id__in=ids).delete()
        Dataset.objects.filter(pk__in=ids).delete()
        get_user_model().objects.filter(pk__in=[u.pk for u in world["users"].values()]).delete()
        Session.objects.filter(session_key__in=list(world["sessions"].values())).delete()
        AuditEntry.objects.filter(dataset_id__in=ids).delete()


def _session_cookie(user) -> str:
    client = APIClient()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def world(shared_world, db):
    return shared_world


@pytest.fixture
def clients(world):
    """role -> (APIClient, user); the API client also carries a session for the pages."""
    out = {ANON: (APIClient(), None)}
    for role, user in world["users"].items():
        client = APIClient()
        client.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"][role]
        out[role] = (client, user)
    return out
