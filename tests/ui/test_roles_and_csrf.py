"""Roles are enforced on every page and every htmx/form endpoint, not only hidden in menus; every
form carries a CSRF token and every state-changing endpoint refuses a request without one."""
import re

import pytest
from django.test import Client

from annotation.models import Assignment
from tasks.models import Job, ModelRun
from tests.factories import UserFactory
from tests.ui.world import flex_world, halo_world

pytestmark = pytest.mark.browser

ROLES = ("annotator", "reviewer", "curator", "admin")
ANYONE = set(ROLES)
ANNOTATE = {"annotator", "curator", "admin"}
REVIEW = {"reviewer", "curator", "admin"}
CURATE = {"curator", "admin"}
ADMIN = {"admin"}


@pytest.fixture(scope="module")
def world(ui_server):
    """Committed once for the module (the browser-suite database is shared, see conftest)."""
    halo = halo_world(name="roles-halo", n_clips=1, seed=1)
    flex = flex_world(name="roles-flex", n_clips=1)
    job = Job.objects.create(kind="dataset_stats", dataset=halo, state=Job.State.SUCCEEDED, progress=1.0)
    run = ModelRun.objects.create(kind=ModelRun.Kind.SEVERITY, dataset=halo, estimator="ridge")
    return {"halo": halo.pk, "flex": flex.pk, "job": job.pk, "run": run.pk}


def pages(w):
    h, f = w["halo"], w["flex"]
    return [
        ("/", ANYONE),
        (f"/annotate/{h}/endpoints/", ANNOTATE),
        (f"/annotate/{h}/severity/", ANNOTATE),
        (f"/annotate/{h}/segments/", ANNOTATE),
        (f"/annotate/{h}/feedback/", ANNOTATE),
        (f"/annotate/{f}/flex_stage1/", ANNOTATE),
        (f"/annotate/{f}/flex_stage2/", REVIEW),
        ("/curate/", CURATE),
        (f"/curate/{h}/", CURATE),
        (f"/curate/{h}/agreement/", CURATE),
        (f"/curate/{h}/reliability/", CURATE),
        (f"/curate/{h}/label-sets/", CURATE),
        (f"/curate/{h}/disagreements/", CURATE),
        (f"/curate/{h}/splits/", CURATE),
        ("/jobs/", CURATE),
        (f"/jobs/{w['job']}/", CURATE),
        (f"/jobs/{w['job']}/progress/", CURATE),
        ("/runs/", ADMIN),
        (f"/runs/compare/?a={w['run']}&b={w['run']}", ADMIN),
        (f"/runs/{w['run']}/", ADMIN),
    ]


def posts(w):
    """State-changing browser endpoints (forms and htmx) with a body a curator could send."""
    h = w["halo"]
    return [
        ("/jobs/launch/", {"kind": "dataset_stats", "dataset": str(h)}, CURATE),
        (f"/jobs/{w['job']}/cancel/", {}, ADMIN),  # or the curator who launched it
        (f"/curate/{h}/exports/launch/", {"split_version": "0", "format": "jsonl"}, CURATE),
        (f"/curate/{h}/label-sets/set-current/", {"label_set": "0"}, CURATE),
        (f"/curate/{h}/disagreements/send-back/", {"kind": "endpoints"}, CURATE),
    ]


def client_for(role):
    client = Client()
    client.force_login(UserFactory(roles=[role]))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_by_role(world, role):
    # given
    client = client_for(role)
    # when
    answers = {url: client.get(url).status_code for url, _ in pages(world)}
    # then
    assert {url: status == 200 for url, status in answers.items()} == {url: role in allowed for url, allowed in pages(world)}
    assert set(answers.values()) <= {200, 403}


def test_anonymous_visitors_are_sent_to_the_login_page(world):
    # given
    client = Client()
    # when
    answers = [client.get(url) for url, _ in pages(world)]
    # then
    assert all(a.status_code == 302 and a["Location"].startswith("/accounts/login/?next=") for a in answers)


@pytest.mark.parametrize("role", ROLES)
def test_every_post_endpoint_checks_the_role(world, role):
    # given
    client = client_for(role)
    # when
    answers = {url: client.post(url, body, HTTP_HX_REQUEST="true").status_code for url, body, _ in posts(world)}
    # then
    assert {url: status == 403 for url, status in answers.items()} == {
        url: role not in allowed for url, _, allowed in posts(world)}


def test_the_export_progress_row_is_for_curators(world):
    # given
    client = client_for("annotator")
    # when
    response = client.get(f"/curate/{world['halo']}/exports/1/row/", HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 403


def test_an_annotator_cannot_read_another_annotators_item(world):
    # given
    owner, other = UserFactory(roles=["annotator"]), UserFactory(roles=["annotator"])
    clip = halo_clip(world)
    assignment = Assignment.objects.create(annotator=owner, clip=clip, kind="endpoints")
    client = Client()
    client.force_login(other)
    # when
    response = client.get(f"/ui/items/{assignment.pk}/")
    # then
    assert response.status_code == 404


def halo_clip(world):
    from datasets.models import Clip

    return Clip.objects.filter(dataset_id=world["halo"]).first()


FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


def test_every_post_form_on_every_page_carries_a_csrf_token(world):
    # given
    client = client_for("admin")
    # when
    forms = []
    for url, _ in pages(world):
        html = client.get(url).content.decode()
        forms += [(url, f) for f in FORM.findall(html) if re.search(r'method="post"', f, re.I)]
        assert 'hx-headers=\'{"X-CSRFToken": "' in html or "<body" not in html, url
    # then
    assert forms, "no form found"
    assert [url for url, f in forms if 'name="csrfmiddlewaretoken"' not in f] == []


def state_changing_answers(client, world, headers):
    answers = [client.post(url, body, **headers).status_code for url, body, _ in posts(world)]
    answers.append(client.post("/api/queue/next/", {"dataset": world["halo"], "kind": "endpoints"},
                               content_type="application/json", **headers).status_code)
    return answers


def admin_enforcing_csrf():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(roles=["admin"]))
    client.get("/")  # the browser holds the CSRF cookie of an earlier page
    return client


def test_state_changing_requests_without_a_csrf_token_are_refused(world):
    # given: a logged-in admin whose browser would send the session cookie anyway
    client = admin_enforcing_csrf()
    # when
    answers = state_changing_answers(client, world, {})
    # then
    assert answers == [403] * len(answers)


def test_the_same_requests_with_the_token_pass_the_csrf_check(world):
    # given
    client = admin_enforcing_csrf()
    # when
    answers = state_changing_answers(client, world, {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value})
    # then
    assert 403 not in answers
