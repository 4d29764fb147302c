"""50 annotators at once against a real server: queue, votes, end points, retries, abandoned leases.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_load CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
        python bench/load_annotators.py --annotators 50 --votes 200

The script (and ``tests/load/test_annotators_load.py``, which reuses it) seeds a fresh dataset
with its own annotators and API tokens, starts gunicorn on 127.0.0.1 (never another address),
and runs one thread per annotator. Each annotator takes items from ``/api/queue/next/``:
severity items (votes for every repetition x error type of the clip, then ``queue/complete``)
until it has submitted ``--votes`` votes, and ``--endpoint-items`` end-point items. 5% of
submissions are sent twice with the same idempotency key (a retry after a lost answer); 2% of
leased items are abandoned (the annotator walks away from that kind of work). Afterwards the
database is checked: every acknowledged label stored exactly once, no clip over its quota, no
annotator twice on an item; abandoned leases are expired and must be handed out again.
Prints throughput and p50/p95/p99 latency per operation and the vote figures.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # load goes to this machine only


# ------------------------------------------------------------------ seeding (Django side)

def seed(*, name: str, n_clips: int, reps_per_clip: int = 10, n_error_types: int = 2, n_annotators: int = 50,
         lease_minutes: int = 1, frame_count: int = 330) -> dict:
    """A dataset whose clips nobody labelled yet, its annotators and their API tokens."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from datasets.models import Clip, Dataset, ErrorType, Exercise, Participant, Repetition

    dataset = Dataset.objects.create(name=name, kind="halo", lease_minutes=lease_minutes)
    exercise = Exercise.objects.create(dataset=dataset, slug="squat", name="Squat", joint_count=26, dims=2)
    error_types = [ErrorType.objects.create(exercise=exercise, code=f"squat_e{i}") for i in range(n_error_types)]
    participants = Participant.objects.bulk_create(
        Participant(dataset=dataset, external_id=f"P{i:03d}", skill_level=i % 3) for i in range(max(n_clips // 4, 1)))
    # A pose path makes a clip "have media" for the queue; the load never downloads it.
    clips = Clip.objects.bulk_create(
        Clip(dataset=dataset, exercise=exercise, participant=participants[i % len(participants)],
             external_id=f"{name}-{i:05d}", fps=30.0, frame_count=frame_count, pose_file=f"pose/load/{i}.npy")
        for i in range(n_clips))
    Repetition.objects.bulk_create(Repetition(clip=c, index=k) for c in clips for k in range(reps_per_clip))
    group, _ = Group.objects.get_or_create(name="annotator")
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"{name}-ann{i:03d}") for i in range(n_annotators + 1))
    group.user_set.add(*users)
    tokens = {u.username: Token.objects.create(user=u).key for u in users}
    spare = users[-1].username  # takes the abandoned items afterwards
    return {"dataset": dataset.pk, "tokens": {k: v for k, v in tokens.items() if k != spare},
            "spare": (spare, tokens[spare]), "error_types": [e.pk for e in error_types],
            "reps_per_clip": reps_per_clip, "frame_count": frame_count}


# ------------------------------------------------------------------ the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(*, db_name: str | None = None, workers: int = 3, threads: int = 8, log_path: Path | None = None,
           settings_module: str = "config.settings.test"):
    """gunicorn on 127.0.0.1:<free port>; ``db_name`` names the database (tests: the test DB)."""
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=settings_module, CONN_MAX_AGE="60")
    if db_name:
        env["FORMLAB_WORKER_DB_NAME"] = db_name
    log_path = log_path or ROOT / "test-output" / f"gunicorn-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"{HOST}:{port}", "-w", str(workers),
             "-k", "gthread", "--threads", str(threads), "--timeout", "120", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://{HOST}:{port}/accounts/login/", proc, log_path)
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_http(url: str, proc, log_path: Path, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn not answering after {timeout}s:\n{log_path.read_text()[-3000:]}")


# ------------------------------------------------------------------ the annotators (client side)

@dataclass
class Stats:
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    statuses: dict = field(default_factory=lambda: defaultdict(int))
    # client_key -> ("votes"|"endpoints", annotator, expected rows, clip id)
    acknowledged: dict = field(default_factory=dict)
    replays_ok: int = 0
    retries: int = 0
    abandoned: list = field(default_factory=list)  # (annotator, kind, clip id)
    errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[op].append(seconds)
            self.statuses[(op, status)] += 1


class Annotator:
    def __init__(self, *, name, token, base_url, dataset, stats, rng, votes_target, endpoint_items,
                 retry_rate, abandon_rate, deadline):
        import requests

        self.name, self.base, self.dataset, self.stats, self.rng = name, base_url, dataset, stats, rng
        self.votes_target, self.endpoint_items = votes_target, endpoint_items
        self.retry_rate, self.abandon_rate, self.deadline = retry_rate, abandon_rate, deadline
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"
        self.error_types: dict[int, list[int]] = {}

    def call(self, op, method, path, body=None, *, ok=(200, 201)):
        for attempt in range(4):  # a dropped connection is retried (the body keeps its key)
            started = time.perf_counter()
            try:
                response = self.http.request(method, self.base + path, json=body, timeout=60)
            except Exception as exc:  # noqa: BLE001 - network trouble: try again
                self.stats.record(op, time.perf_counter() - started, 0)
                if attempt == 3:
                    raise RuntimeError(f"{op}: {exc}") from None
                continue
            self.stats.record(op, time.perf_counter() - started, response.status_code)
            if response.status_code not in ok:
                with self.stats.lock:
                    self.stats.errors.append((self.name, op, response.status_code, response.text[:300]))
            return response
        raise AssertionError("unreachable")

    def next_item(self, kind):
        response = self.call("queue_next", "POST", "/api/queue/next/", {"dataset": self.dataset, "kind": kind})
        return response.json().get("item") if response.status_code == 200 else None

    def submit(self, op, path, body, expected_rows, kind, clip_id):
        response = self.call(op, "POST", path, body)
        if response.status_code in (200, 201):
            with self.stats.lock:
                self.stats.acknowledged[body["client_key"]] = (kind, self.name, expected_rows, clip_id)
        if self.rng.random() < self.retry_rate:
            # the answer "got lost": the client sends the very same request again
            again = self.call(op + "_retry", "POST", path, body)
            with self.stats.lock:
                self.stats.retries += 1
                self.stats.replays_ok += int(again.status_code == 200 and again.json().get("replayed") is True)
        return response

    def severity_item(self) -> int:
        item = self.next_item("severity")
        if item is None:
            return -1
        clip = item["clip"]
        if self.rng.random() < self.abandon_rate:
            with self.stats.lock:
                self.stats.abandoned.append((self.name, "severity", clip["id"]))
            return -1
        reps = self.call("repetitions", "GET", f"/api/clips/{clip['id']}/repetitions/?page_size=1000").json()
        ex = clip["exercise"]
        if ex not in self.error_types:
            listed = self.call("error_types", "GET", f"/api/error-types/?exercise={ex}&page_size=1000").json()
            self.error_types[ex] = [e["id"] for e in listed["results"]]
        votes = [{"repetition": r["id"], "error_type": e, "value": int(self.rng.integers(0, 4))}
                 for r in reps["results"] for e in self.error_types[ex]]
        key = f"v-{uuid.uuid4().hex}"
        response = self.submit("votes_submit", "/api/votes/submit/", {"client_key": key, "votes": votes},
                               len(votes), "votes", clip["id"])
        if response.status_code in (200, 201):
            self.call("queue_complete", "POST", "/api/queue/complete/", {"assignment": item["assignment"]})
            return len(votes)
        return 0

    def endpoint_item(self) -> bool:
        item = self.next_item("endpoints")
        if item is None:
            return False
        clip = item["clip"]
        if self.rng.random() < self.abandon_rate:
            with self.stats.lock:
                self.stats.abandoned.append((self.name, "endpoints", clip["id"]))
            return False
        n = int(self.rng.integers(5, 12))
        frames = sorted(self.rng.choice(clip["frame_count"], size=n, replace=False).tolist())
        key = f"e-{uuid.uuid4().hex}"
        self.submit("endpoints_submit", f"/api/clips/{clip['id']}/end-points/submit/",
                    {"client_key": key, "frames": frames}, len(frames), "endpoints", clip["id"])
        return True

    def run(self):
        voted, marked = 0, 0
        severity_open, endpoints_open = True, True
        while (severity_open or endpoints_open) and time.monotonic() < self.deadline:
            do_severity = severity_open and (not endpoints_open or self.rng.random() < 0.75)
            if do_severity:
                got = self.severity_item()
                if got < 0:
                    severity_open = False  # nothing left, or walked away from this kind
                voted += max(got, 0)
                severity_open = severity_open and voted < self.votes_target
            else:
                endpoints_open = self.endpoint_item() and marked + 1 < self.endpoint_items
                marked += 1


def run_load(*, base_url: str, seeded: dict, votes_target=200, endpoint_items=4, retry_rate=0.05, abandon_rate=0.02,
             seed_value=0, time_budget_s=300.0) -> tuple[Stats, float]:
    stats = Stats()
    deadline = time.monotonic() + time_budget_s
    master = np.random.default_rng(seed_value)
    annotators = [Annotator(name=name, token=token, base_url=base_url, dataset=seeded["dataset"], stats=stats,
                            rng=np.random.default_rng(master.integers(1 << 31)), votes_target=votes_target,
                            endpoint_items=endpoint_items, retry_rate=retry_rate, abandon_rate=abandon_rate,
                            deadline=deadline)
                  for name, token in seeded["tokens"].items()]
    threads = [threading.Thread(target=a.run, name=a.name) for a in annotators]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, time.perf_counter() - started


# ------------------------------------------------------------------ checks (Django side)

def expire_and_reissue(*, base_url: str, seeded: dict, stats: Stats, max_leases: int = 60) -> dict:
    """Let every abandoned lease run out (moved to the past: the lease length has passed), then a
    fresh annotator takes items until each abandoned clip was handed out again."""
    import requests
    from django.utils import timezone

    from annotation.models import Assignment

    users = {name for name, _, _ in stats.abandoned}
    Assignment.objects.filter(annotator__username__in=users, state=Assignment.State.LEASED,
                              clip__dataset_id=seeded["dataset"]).update(
        lease_expires_at=timezone.now() - timezone.timedelta(seconds=1))
    spare_name, spare_token = seeded["spare"]
    http = requests.Session()
    http.headers["Authorization"] = f"Token {spare_token}"
    wanted = {(kind, clip) for _, kind, clip in stats.abandoned}
    reissued = set()
    for kind in sorted({k for k, _ in wanted}):
        for _ in range(max_leases):
            if {c for k, c in wanted if k == kind} <= {c for k, c in reissued if k == kind}:
                break
            item = http.post(f"{base_url}/api/queue/next/", json={"dataset": seeded["dataset"], "kind": kind},
                             timeout=60).json().get("item")
            if item is None:
                break
            reissued.add((kind, item["clip"]["id"]))
            # skip it: the next call hands out another item
            http.post(f"{base_url}/api/queue/release/", json={"assignment": item["assignment"]}, timeout=60)
    return {"abandoned": len(wanted), "reissued": len(wanted & reissued)}


def verify(*, seeded: dict, stats: Stats) -> dict:
    from django.db.models import Count

    from annotation.models import Assignment, EndPointMark, SeverityVote
    from annotation.services.queue import QUOTAS

    dataset = seeded["dataset"]
    votes = SeverityVote.objects.filter(repetition__clip__dataset_id=dataset)
    marks = EndPointMark.objects.filter(clip__dataset_id=dataset)
    stored_by_key = dict(votes.values_list("client_key").annotate(n=Count("id")))
    marks_by_key = dict(marks.values_list("client_key").annotate(n=Count("id")))
    submitted = lost = duplicated = 0
    marks_submitted = marks_lost = marks_duplicated = 0
    for key, (kind, _, expected, _) in stats.acknowledged.items():
        found = (stored_by_key if kind == "votes" else marks_by_key).get(key, 0)
        if kind == "votes":
            submitted += expected
            lost += max(expected - found, 0)
            duplicated += max(found - expected, 0)
        else:
            marks_submitted += expected
            marks_lost += max(expected - found, 0)
            marks_duplicated += max(found - expected, 0)
    unacknowledged = sum(n for k, n in stored_by_key.items() if k not in stats.acknowledged)
    voters = votes.values("repetition__clip_id").annotate(n=Count("annotator", distinct=True))
    markers = marks.values("clip_id").annotate(n=Count("annotator", distinct=True))
    twice = (SeverityVote.objects.filter(repetition__clip__dataset_id=dataset)
             .values("repetition_id", "error_type_id", "annotator_id").annotate(n=Count("id")).filter(n__gt=1).count())
    mark_keys_per_item = (marks.values("clip_id", "annotator_id").annotate(k=Count("client_key", distinct=True))
                          .filter(k__gt=1).count())
    return {
        "votes_submitted": submitted, "votes_stored": votes.count(), "votes_duplicated": duplicated,
        "votes_lost": lost, "votes_stored_unacknowledged": unacknowledged,
        "marks_submitted": marks_submitted, "marks_stored": marks.count(), "marks_duplicated": marks_duplicated,
        "marks_lost": marks_lost,
        "max_voters_per_clip": max((r["n"] for r in voters), default=0),
        "max_markers_per_clip": max((r["n"] for r in markers), default=0),
        "quota_severity": QUOTAS["severity"], "quota_endpoints": QUOTAS["endpoints"],
        "annotator_twice_on_an_item": twice + mark_keys_per_item,
        "leases_over_quota": _over_quota(dataset),
        "assignments": Assignment.objects.filter(clip__dataset_id=dataset).count(),
    }


def _over_quota(dataset: int) -> int:
    from django.db.models import Count

    from annotation.models import Assignment
    from annotation.services.queue import QUOTAS

    rows = (Assignment.objects.filter(clip__dataset_id=dataset, state=Assignment.State.SUBMITTED)
            .values("clip_id", "kind").annotate(n=Count("id")))
    return sum(1 for r in rows if r["n"] > QUOTAS[r["kind"]])


def latency_table(stats: Stats, elapsed: float) -> dict:
    total = sum(len(v) for v in stats.latencies.values())
    out = {"requests": total, "elapsed_s": round(elapsed, 2), "throughput_rps": round(total / elapsed, 1)}
    every = np.concatenate([np.asarray(v) for v in stats.latencies.values()]) if total else np.zeros(1)
    out["all"] = {f"p{q}": round(float(np.percentile(every, q)) * 1000, 1) for q in (50, 95, 99)}
    for op, values in sorted(stats.latencies.items()):
        arr = np.asarray(values)
        out[op] = {"n": int(arr.size), **{f"p{q}_ms": round(float(np.percentile(arr, q)) * 1000, 1)
                                         for q in (50, 95, 99)}}
    out["server_errors"] = sum(n for (op, status), n in stats.statuses.items() if status >= 500 or status == 0)
    return out


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--votes", type=int, default=200)
    parser.add_argument("--endpoint-items", type=int, default=4)
    parser.add_argument("--clips", type=int, default=0, help="default: enough for every annotator")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise SystemExit("Set DATABASE_URL to a migrated PostgreSQL database (the load needs row locks).")
    clips = args.clips or max(60, args.annotators * (args.votes // 20) // 10 + args.annotators * args.endpoint_items // 3 + 20)
    seeded = seed(name=f"load-{uuid.uuid4().hex[:6]}", n_clips=clips, n_annotators=args.annotators)
    with server(db_name=settings.DATABASES["default"]["NAME"]) as base_url:
        stats, elapsed = run_load(base_url=base_url, seeded=seeded, votes_target=args.votes,
                                  endpoint_items=args.endpoint_items, seed_value=args.seed)
        reissue = expire_and_reissue(base_url=base_url, seeded=seeded, stats=stats)
    report = {"latency": latency_table(stats, elapsed), "labels": verify(seeded=seeded, stats=stats),
              "retries": stats.retries, "replays_ok": stats.replays_ok, "reissue": reissue,
              "client_errors": stats.errors[:10]}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
