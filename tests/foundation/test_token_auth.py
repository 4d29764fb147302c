"""Token authentication: token, user and roles read in one query, same rules as DRF's."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.roles import has_role
from config.token_auth import TokenRolesAuthentication, _token_user_with_roles
from tests.factories import UserFactory


def _client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_the_user_and_exactly_the_formlab_roles_come_from_one_query():
    from django.contrib.auth.models import Group

    user = UserFactory(roles=["annotator", "reviewer"])
    user.groups.add(Group.objects.create(name="book-club"))  # not a FormLab role
    token = Token.objects.create(user=user)
    with CaptureQueriesContext(connection) as queries:
        found, roles = _token_user_with_roles(token.key)
    assert len(queries) == 1
    assert found.pk == user.pk and found.username == user.username
    assert found.date_joined == user.date_joined and found.is_active is True
    assert roles == {"annotator", "reviewer"}


@pytest.mark.django_db
def test_a_user_without_groups_is_found_with_no_roles_and_a_superuser_is_admin():
    plain = UserFactory(roles=[])
    boss = UserFactory(roles=[], is_superuser=True)
    assert _token_user_with_roles(Token.objects.create(user=plain).key)[1] == set()
    user, _key = TokenRolesAuthentication().authenticate_credentials(Token.objects.create(user=boss).key)
    assert user.pk == boss.pk and has_role(user, "admin") and not has_role(user, "annotator")


def _refusal(response):
    return response.status_code, response.json()["error"]["code"], response.json()["error"]["detail"]


@pytest.mark.django_db
def test_unknown_token_and_inactive_user_are_refused():
    # DRF answers 403 (not 401) because session authentication comes first and sends no
    # WWW-Authenticate challenge; the code and detail say why.
    user = UserFactory(roles=["curator"])
    token = Token.objects.create(user=user)
    assert _refusal(_client("0" * 40).get("/api/datasets/")) == (403, "authentication_failed", "Invalid token.")
    assert _client(token.key).get("/api/datasets/").status_code == 200
    user.is_active = False
    user.save()
    assert _refusal(_client(token.key).get("/api/datasets/")) == (403, "authentication_failed",
                                                                   "User inactive or deleted.")


@pytest.mark.django_db
def test_roles_are_enforced_from_the_token_query():
    annotator = Token.objects.create(user=UserFactory(roles=["annotator"]))
    curator = Token.objects.create(user=UserFactory(roles=["curator"]))
    url = "/api/label-sets/"
    assert _client(annotator.key).get(url).status_code == 403
    assert _client(curator.key).get(url).status_code == 200
