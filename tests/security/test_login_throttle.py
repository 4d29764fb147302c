"""Password logins are rate limited per (address, username) and per address, on every login path."""
import pytest
from django.test import Client, override_settings

from tests.factories import UserFactory


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", roles=["annotator"])


def _fail(client, path, username="alice"):
    if path == "/api/auth/token/":
        return client.post(path, {"username": username, "password": "wrong"}, content_type="application/json")
    return client.post(path, {"username": username, "password": "wrong"})


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/auth/token/"])
def test_sixth_failed_login_is_refused_with_429(alice, path):
    # given: five failures
    client = Client()
    statuses = [_fail(client, path).status_code for _ in range(5)]
    # when
    blocked = _fail(client, path)
    # then
    assert 429 not in statuses
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0


@pytest.mark.django_db
def test_the_right_password_is_refused_too_while_blocked(alice):
    client = Client()
    for _ in range(5):
        _fail(client, "/accounts/login/")
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-12345678"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_success_clears_the_counter_and_another_username_is_not_blocked(alice):
    client = Client()
    for _ in range(4):
        _fail(client, "/accounts/login/")
    ok = client.post("/accounts/login/", {"username": "alice", "password": "pw-12345678"})
    client.logout()
    after = [_fail(client, "/accounts/login/").status_code for _ in range(4)]
    other = _fail(client, "/accounts/login/", username="bob")
    assert ok.status_code == 302
    assert 429 not in after and other.status_code == 200


@pytest.mark.django_db
@override_settings(FORMLAB_LOGIN_FAILURES_PER_IP=3, FORMLAB_LOGIN_FAILURES_PER_USER=100)
def test_many_usernames_from_one_address_are_blocked_per_address(alice):
    client = Client()
    for name in ("a1", "a2", "a3"):
        _fail(client, "/accounts/login/", username=name)
    assert _fail(client, "/accounts/login/", username="a4").status_code == 429
