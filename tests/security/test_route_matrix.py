"""Role x route matrix over EVERY route of the URL conf (API and pages).

The routes come from the resolver; each needs a rule in ``tests/security/routes.py``. For every
route, method and role, the request must be let through when the rule allows the role and be
refused otherwise: 401/403 for the API, a redirect to the login page for an anonymous page
visit, 403 (or 404 for an object the user may not know exists) for a signed-in user.
"""
import re

import pytest
from django.test import Client

from tests.security.routes import ANON, PUBLIC, RULES, admin_site_routes, all_routes

ROUTES = all_routes()
PARAMS = {"dataset_id", "clip_id", "segment_id", "note_id", "assignment_id", "split_version_id", "export_id",
          "job_id", "run_id", "label_set_id", "action_id", "code", "name", "kind", "report_id"}
MISSING_ID = 987654321


def _url(route: str, world) -> str:
    values = {
        "dataset_id": world["dataset"].pk, "clip_id": world["clip"].pk, "kind": "endpoints",
        "code": "ET001", "name": "plot",
    }
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), MISSING_ID)), route)


def _call(client, method: str, url: str):
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    return getattr(client, method)(url, {}, format="json")


def _refused(role: str, url: str, method: str, status: int, location: str) -> bool:
    if role == ANON:
        page_login = status == 302 and "/accounts/login/" in location
        return status in (401, 403) or page_login
    return status in (403, 404)


def _let_through(status: int, location: str, public: bool) -> bool:
    # A public route (login, logout) may well send you to the login page; nothing else may.
    return status not in (401, 403) and status < 500 and (public or "/accounts/login/" not in location)


def test_every_route_has_a_rule():
    # given: every named route and the methods its view implements
    missing = [(route, name, m) for route, name, methods in ROUTES for m in methods
               if name is None or m not in RULES.get(name, {})]
    # then
    assert missing == [], f"Routes without an access rule in tests/security/routes.py: {missing}"


def test_every_rule_names_a_live_route():
    names = {name for _, name, _ in ROUTES}
    assert sorted(set(RULES) - names) == []


def test_route_parameters_are_all_known():
    names = {p for route, _, _ in ROUTES for p in re.findall(r"<(?:\w+:)?(\w+)>", route)}
    assert names <= PARAMS, names - PARAMS


@pytest.mark.django_db
@pytest.mark.parametrize("route,name,method", [(r, n, m) for r, n, ms in ROUTES for m in ms if n in RULES],
                         ids=[f"{m.upper()} {r}" for r, n, ms in ROUTES for m in ms if n in RULES])
def test_route_obeys_its_rule_for_every_role(route, name, method, world, clients):
    # given
    url = _url(route, world)
    allowed = RULES[name][method]
    wrong = []
    # Public routes (schema, docs, login) are the same for everyone: one visitor and one user.
    roles = [ANON, "annotator"] if allowed == PUBLIC else list(clients)
    for role in roles:
        client = clients[role][0]
        # when
        response = _call(client, method, url)
        location = response.headers.get("Location", "")
        # then (collected, so one failure report names every role that broke the rule)
        ok = _let_through(response.status_code, location, public=allowed == PUBLIC) if role in allowed else \
            _refused(role, url, method, response.status_code, location)
        wrong.append(None if ok else (role, response.status_code, response.content[:200]))
    assert [w for w in wrong if w] == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["annotator", "reviewer", "curator", "admin", ANON])
def test_admin_site_is_for_staff_only(role, clients):
    client, _ = clients[role]
    for path in ("/admin/", "/admin/audit/auditentry/", "/admin/annotation/severityvote/"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response.headers["Location"], path


def test_admin_site_routes_exist():
    assert any(r == "admin/" for r in admin_site_routes())


@pytest.mark.django_db
def test_audit_log_is_read_only_in_the_admin_even_for_a_superuser(world):
    from tests.factories import UserFactory

    root = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(root)
    assert client.get("/admin/audit/auditentry/").status_code == 200
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
