"""Fault-test plumbing: real Celery workers that load the test job kinds, beat fast, and can be
SIGKILLed; a private redis-server for broker restarts (the shared Redis is never touched); both
brokers in turn for the tests that must hold on each."""
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import tests.faults.fault_jobs  # noqa: F401  (registers the fault_* kinds in this process)
from tests.conftest import OUTPUT_DIR, start_worker, stop_worker

# Environment of every worker a fault test starts: test job kinds, a heartbeat every 0.3 s (a
# lost worker is noticed after three missed beats), unacked messages back after 3 s.
WORKER_ENV = {
    "FORMLAB_EXTRA_JOB_MODULES": "tests.faults.fault_jobs",
    "FORMLAB_JOB_HEARTBEAT_S": "0.3",
    "CELERY_VISIBILITY_TIMEOUT": "3",
}


def children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them (the pool's supervisor
    thread starts the replacement of a lost pool process)."""
    found = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in listing.read_text().split()]
        except OSError:
            pass
    return found


def kill_pool_children(proc) -> list[int]:
    """SIGKILL the worker's pool processes (where tasks run); the main process survives."""
    pids = children(proc.pid)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


def kill_worker_hard(proc) -> None:
    """SIGKILL the pool processes and the main worker process, as a lost machine would."""
    kids = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    for pid in kids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


@pytest.fixture
def fault_worker_env(monkeypatch):
    for key, value in WORKER_ENV.items():
        monkeypatch.setenv(key, value)
    return WORKER_ENV


@pytest.fixture
def private_media(settings, tmp_path):
    """A media folder of this test's own: export ids restart with every test database, so the
    shared test-media folder may hold another run's exports/<id>."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def worker_factory(fault_worker_env, private_media, django_db_blocker):
    """Start workers on demand (on this test's media folder); every one still alive is stopped at
    the end of the test."""
    from config.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
    started = []

    def start(name="fault", **env):
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            proc, log = start_worker(name)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        started.append(proc)
        return proc, log

    yield start
    for proc in started:
        if proc.poll() is None:
            stop_worker(proc)


def wait_until(predicate, timeout=60.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached after {timeout}s")


def wait_paused(job_id, timeout=60.0):
    from tasks.models import Job

    return wait_until(lambda: any("paused at" in line for line in Job.objects.get(pk=job_id).log),
                      timeout=timeout, what=f"job {job_id} paused")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on 127.0.0.1:<free port>, so restarting it disturbs no one."""

    def __init__(self, *, persistent: bool):
        self.port = free_port()
        self.dir = OUTPUT_DIR / f"redis-{self.port}"
        self.persistent = persistent
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
                "--save", "", "--protected-mode", "yes"]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ping, timeout=10, what="private redis up")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def restart(self):
        self.stop()
        self.start()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_redis(request):
    """``@pytest.mark.parametrize("private_redis", [persistent], indirect=True)``"""
    redis = PrivateRedis(persistent=request.param)
    redis.start()
    yield redis
    redis.cleanup()


@pytest.fixture(params=["redis", "filesystem"])
def broker(request, monkeypatch, tmp_path):
    """Point this process's Celery app, and the workers started after it, at a broker of the
    test's own: a private redis-server, then kombu's filesystem transport (the embedded default)
    in a temporary folder. Request it before ``worker_factory``, so the workers stop first."""
    from config.celery import app
    from config.settings.base import filesystem_broker_options

    redis = PrivateRedis(persistent=False) if request.param == "redis" else None
    if redis:
        redis.start()
        url, options = redis.url, {"visibility_timeout": int(WORKER_ENV["CELERY_VISIBILITY_TIMEOUT"])}
    else:
        folder = tmp_path / "broker"
        monkeypatch.setenv("CELERY_BROKER_DIR", str(folder))
        url, options = "filesystem://", filesystem_broker_options(folder)
    # Celery reads CELERY_BROKER_URL from the environment before its settings.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setitem(app.conf, "CELERY_BROKER_TRANSPORT_OPTIONS", options)
    _drop_broker_connections(app)
    yield request.param
    _drop_broker_connections(app)
    if redis:
        redis.cleanup()


def _drop_broker_connections(app) -> None:
    """The app holds its connection and producer pools, which lead to the old broker: forget
    them, as Celery does after a fork, so the next message goes to the broker now configured.
    (kombu keeps one pool per broker address, so the suite's own is found again afterwards.)"""
    app._pool = None
    app.amqp._producer_pool = None
