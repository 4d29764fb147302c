"""Label submission under load: 50 concurrent clients POSTing single severity votes.

Serves FormLab as in production (gunicorn, production settings, one sync worker per core plus
one) and drives it from 50 client threads over keep-alive connections on 127.0.0.1. Every
request carries a fresh idempotency key; 5% are sent twice with the same key (a client retry).
Afterwards it counts stored votes against the distinct votes sent: duplicates must be zero.

    python bench/bench_label_submission.py                       # embedded SQLite (WAL)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_bench_api python bench/bench_label_submission.py

Options: --clients 50 --votes-per-client 200 --workers 3 --port 8765
Reference (same machine kind, same load): Label Studio 1.23.2 served 21 annotations/s (p99 3.1 s)
on PostgreSQL and 6.4/s (p99 19 s, 2% duplicates) on SQLite.
"""
import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_world(n_clients, votes_per_client):
    """A dataset whose every (repetition, error type) is assigned to all clients."""
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from annotation.models import Assignment, SeverityVote
    from datasets.models import Clip, Dataset, ErrorType, Exercise, Repetition
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    dataset = Dataset.objects.create(name=f"bench-submit-{uuid.uuid4().hex[:8]}")  # a fresh world each run
    exercise = Exercise.objects.create(dataset=dataset, slug="squat", name="Squat")
    error_type = ErrorType.objects.create(exercise=exercise, code="shallow")
    reps_per_clip = 10
    n_clips = -(-votes_per_client // reps_per_clip)
    clips = Clip.objects.bulk_create(Clip(dataset=dataset, exercise=exercise, external_id=f"b{i}", frame_count=300)
                                     for i in range(n_clips))
    reps = Repetition.objects.bulk_create(Repetition(clip=c, index=i) for c in clips for i in range(reps_per_clip))
    users = [UserFactory(username=f"bench-{uuid.uuid4().hex[:8]}", roles=["annotator"]) for _ in range(n_clients)]
    Assignment.objects.bulk_create(Assignment(annotator=u, clip=c, kind="severity") for u in users for c in clips)
    tokens = [Token.objects.create(user=u).key for u in users]
    rep_ids = [r.pk for r in reps][:votes_per_client]
    return dataset, error_type.pk, rep_ids, tokens, users


def client_thread(port, token, rep_ids, error_type, latencies, errors, retry_rate, seed):
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json",
               "X-Forwarded-Proto": "https"}
    for rep in rep_ids:
        body = json.dumps({"client_key": f"bench-{uuid.uuid4().hex}",
                           "votes": [{"repetition": rep, "error_type": error_type, "value": rng.randint(0, 3)}]})
        for _attempt in range(2 if rng.random() < retry_rate else 1):
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/votes/submit/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = -1
            latencies.append(time.perf_counter() - started)
            if status not in (200, 201):
                errors.append(status)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--votes-per-client", type=int, default=200)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) + 1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--retry-rate", type=float, default=0.05)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    sqlite_dir = None
    if "DATABASE_URL" not in os.environ:
        sqlite_dir = tempfile.mkdtemp(prefix="formlab-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{sqlite_dir}/bench.sqlite3"
    backend = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite (WAL)"

    dataset, error_type, rep_ids, tokens, users = setup_world(args.clients, args.votes_per_client)
    from django.db import connection

    connection.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{args.port}",
         "-w", str(args.workers), "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=dict(os.environ),
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/api/schema/")
                break
            except OSError:
                time.sleep(0.1)
        latencies, errors = [], []
        threads = [threading.Thread(target=client_thread, args=(args.port, tokens[i], rep_ids, error_type,
                                                                  latencies, errors, args.retry_rate, i))
                   for i in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    from annotation.models import SeverityVote

    stored = SeverityVote.objects.filter(annotator__in=users).count()
    distinct_sent = args.clients * len(rep_ids)
    lat = np.array(latencies) * 1000
    print(json.dumps({
        "backend": backend, "clients": args.clients, "gunicorn_workers": args.workers,
        "requests": len(latencies), "distinct_votes_sent": distinct_sent, "votes_stored": stored,
        "duplicates": stored - distinct_sent if stored > distinct_sent else 0,
        "lost": distinct_sent - stored if stored < distinct_sent else 0,
        "errors": len(errors), "error_statuses": sorted(set(errors)),
        "seconds": round(elapsed, 2), "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "ratio_vs_label_studio": round(len(latencies) / elapsed / (21.0 if backend == "PostgreSQL" else 6.4), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
