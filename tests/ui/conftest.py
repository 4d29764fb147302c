"""Browser fixtures: one Debian Chromium for the whole session (never downloaded), one live
server thread for the whole session, a fresh browser context per test, pages logged in by
session cookie, console errors collected, screenshots.

Why not pytest-django's ``live_server``: it forces ``transactional_db``, which truncates every
table after each test (seconds per test on a busy machine). Here the browser tests share one
test database instead: each test makes its own dataset and users, so they never see each
other's rows, and the database is flushed once when the session ends.
"""
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

# The database name before any test database exists (see ui_server).
_ORIGINAL_DB_NAME = settings.DATABASES["default"]["NAME"]

# Playwright's sync API runs an event loop in this thread; Django's async-safety check would
# otherwise refuse ORM calls made by the test body between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class BrowserSession:
    """A logged-in browser page with the console watched."""

    def __init__(self, page, base_url, user):
        self.page = page
        self.base_url = base_url
        self.user = user
        self.console_errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))

    def goto(self, path, **kwargs):
        return self.page.goto(self.base_url + path, **kwargs)

    def shot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def wait_ready(self, timeout=15_000):
        self.page.wait_for_selector("body[data-ready='1']", timeout=timeout)

    def api(self, method, path, data=None):
        """A same-origin API call made by the page itself (session cookie + CSRF header)."""
        return self.page.evaluate(
            """async ([method, url, body]) => {
                const token = document.querySelector('meta[name="csrf-token"]');
                const r = await fetch(url, {method, credentials: 'same-origin', headers: {
                    'Content-Type': 'application/json', 'X-CSRFToken': token ? token.content : ''},
                    body: body === null ? undefined : JSON.stringify(body)});
                let data = null; try { data = await r.json(); } catch (e) {}
                return {status: r.status, data};
            }""", [method, path, data])


def session_cookie_for(user) -> dict:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key}


@pytest.fixture(scope="session")
def ui_server(django_db_setup, django_db_blocker):
    """The app served from a thread of this process on a free 127.0.0.1 port, static files too."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test.testcases import LiveServerThread
    from django.test.utils import setup_databases, teardown_databases

    # The server thread and the tests both write to the test database for the rest of the
    # session (pytest-django's blocker is process-wide, not per thread).
    django_db_blocker.unblock()
    own_databases = None
    if connection.settings_dict["NAME"] == _ORIGINAL_DB_NAME:
        # pytest-django creates the test database only when some collected test asks for a db
        # fixture; a run of browser tests alone asks for none, so create it here.
        own_databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
    if own_databases is None:
        call_command("flush", interactive=False, verbosity=0)
    else:
        teardown_databases(own_databases, verbosity=0)
    _drop_idle_sessions()
    connections.close_all()  # pytest-django drops the test database next
    django_db_blocker.restore()


def _drop_idle_sessions():
    """End idle connections to the test database left by the server's request threads.

    Their threads may outlive the server (a browser keeps connections alive), and an open
    connection makes pytest-django's DROP DATABASE fail. Idle ones only, at the very end.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'")


@pytest.fixture
def open_as(browser, ui_server):
    """``open_as("annotator")`` -> a BrowserSession logged in as a new user with that role
    (or ``open_as(user=existing)``). Every context is closed at the end of the test."""
    contexts = []

    def make(*roles, user=None, viewport=(1400, 900)):
        user = user or UserFactory(roles=roles)
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.add_cookies([dict(session_cookie_for(user), url=ui_server)])
        contexts.append(context)
        return BrowserSession(context.new_page(), ui_server, user)

    yield make
    for context in contexts:
        context.close()


def run_job_now(kind, dataset, params=None):
    """Run a job in this process, as setup for a browser test (not what the test is about)."""
    from unittest import mock

    from tasks.models import Job
    from tasks.services import job_execute, job_launch

    with mock.patch("tasks.services._enqueue"):
        job = job_launch(kind=kind, dataset=dataset, params=params or {}, user=None, check_role=False)
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, f"{kind}: {job.error}"
    return job


@pytest.fixture(scope="session")
def rich_world(ui_server):
    """A labelled Halo-style dataset with everything a curator and an admin look at: two
    end-point and two severity label sets, agreement reports, a frozen split, an export and two
    model runs. Built once per session."""
    from datasets.models import ErrorType
    from tests.ui.world import halo_world

    dataset = halo_world(name="ui-rich", n_clips=300, seed=4, n_participants=30, with_votes=True,
                         with_marks=True, only_exercises=("squats", "sumo_squat"))
    run_job_now("aggregate_endpoints", dataset)
    run_job_now("aggregate_endpoints", dataset, {"tolerance_s": 0.2})
    run_job_now("aggregate_severity", dataset)
    run_job_now("aggregate_severity", dataset, {"method": "mean"})
    split = run_job_now("make_split", dataset)
    export = _export_now(split.result["split_version"])
    code = ErrorType.objects.filter(exercise__dataset=dataset, exercise__slug="squats").order_by("code").first().code
    runs = [run_job_now("train_severity", dataset, {"estimator": "linear", "error_types": code, "seed": 1})]
    return {"dataset": dataset, "error_type_code": code, "split_version": split.result["split_version"],
            "job": export.job_id, "export": export.pk, "runs": [r.result["run_id"] for r in runs]}


def _export_now(split_version_id):
    from unittest import mock

    from datasets.exports.service import split_export_launch
    from datasets.selectors_splits import split_version_get
    from tasks.services import job_execute

    with mock.patch("tasks.services._enqueue"):
        export = split_export_launch(split_version=split_version_get(split_version_id=split_version_id), fmt="jsonl",
                                     params={}, user=UserFactory(roles=["curator"]))
    job_execute(job_id=export.job_id)
    export.refresh_from_db()
    assert export.state == "succeeded", export.error
    return export
