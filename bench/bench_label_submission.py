"""Label submission under load: 50 concurrent clients POSTing single severity votes.

Serves FormLab as in production (gunicorn, production settings) and drives it from 50 client
threads on 127.0.0.1. Every request carries a fresh idempotency key; 5% are sent twice with the
same key (a client retry). Afterwards it counts stored votes against the distinct votes sent:
duplicates and losses must be zero. Two phases, each with its own votes:

* ``saturate``: every client sends its next vote as soon as the last one is answered (closed
  loop): the most requests per second the server gives, and the latency at that load.
* ``paced``: the 50 clients together offer ``--rate`` requests per second on a fixed schedule
  (open loop; default 10x Label Studio's figure on the same backend). Latency is counted from
  the time a request was due, so a server that falls behind shows it (no coordinated omission).

    python bench/bench_label_submission.py                       # embedded SQLite (WAL)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_bench_api python bench/bench_label_submission.py

Options: --clients 50 --votes-per-client 200 --workers 3 --worker-class sync|gthread --threads 4
--phases saturate,paced --rate R. Prints per-request CPU of the web server, PostgreSQL and the
load generator (from /proc), so the figures can be compared across machines.
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
from bench.cpu import cpu_now, cpu_since  # noqa: E402
LABEL_STUDIO = {"PostgreSQL": 21.0, "SQLite (WAL)": 6.4}


def setup_world(n_clients, n_votes):
    """A fresh dataset whose every (repetition, error type) is assigned to all clients."""
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from annotation.models import Assignment
    from datasets.models import Clip, Dataset, ErrorType, Exercise, Repetition
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    dataset = Dataset.objects.create(name=f"bench-submit-{uuid.uuid4().hex[:8]}")
    exercise = Exercise.objects.create(dataset=dataset, slug="squat", name="Squat")
    error_type = ErrorType.objects.create(exercise=exercise, code="shallow")
    reps_per_clip = 10
    n_clips = -(-n_votes // reps_per_clip)
    clips = Clip.objects.bulk_create(Clip(dataset=dataset, exercise=exercise, external_id=f"b{i}", frame_count=300)
                                     for i in range(n_clips))
    reps = Repetition.objects.bulk_create(Repetition(clip=c, index=i) for c in clips for i in range(reps_per_clip))
    users = [UserFactory(username=f"bench-{uuid.uuid4().hex[:8]}", roles=["annotator"]) for _ in range(n_clients)]
    Assignment.objects.bulk_create(Assignment(annotator=u, clip=c, kind="severity") for u in users for c in clips)
    tokens = [Token.objects.create(user=u).key for u in users]
    return error_type.pk, [r.pk for r in reps][:n_votes], tokens, users


def client_thread(port, token, rep_ids, error_type, out, retry_rate, seed, start_at, interval):
    """Send one vote per repetition. With ``interval`` set, request k is due at
    ``start_at + k * interval`` and its latency counts from then; otherwise back to back."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json",
               "X-Forwarded-Proto": "https"}
    sends = []
    for rep in rep_ids:
        body = json.dumps({"client_key": f"bench-{uuid.uuid4().hex}",
                           "votes": [{"repetition": rep, "error_type": error_type, "value": rng.randint(0, 3)}]})
        sends.extend([body] * (2 if rng.random() < retry_rate else 1))
    latencies, errors = [], []
    for k, body in enumerate(sends):
        due = time.perf_counter()
        if interval:
            due = start_at + k * interval
            time.sleep(max(0.0, due - time.perf_counter()))
        try:
            conn.request("POST", "/api/votes/submit/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = -1
        latencies.append(time.perf_counter() - due)
        if status not in (200, 201):
            errors.append(status)
    out.append((latencies, errors))


def run_phase(name, args, port, tokens, rep_ids, error_type, rate):
    out = []
    interval = args.clients / rate if rate else 0.0
    start_at = time.perf_counter() + 0.5
    threads = [threading.Thread(target=client_thread, args=(
        port, tokens[i], rep_ids, error_type, out, args.retry_rate, i,
        start_at + (i * interval / args.clients if interval else 0), interval)) for i in range(args.clients)]
    cpu = cpu_now()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu = cpu_since(cpu)
    lat = np.concatenate([np.asarray(latencies) for latencies, _ in out]) * 1000
    errors = [e for _, errs in out for e in errs]
    return {
        "phase": name, "offered_per_s": rate or "as fast as answered", "requests": int(lat.size),
        "errors": len(errors), "error_statuses": sorted(set(errors)),
        "seconds": round(elapsed, 2), "requests_per_s": round(lat.size / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1), "max_ms": round(float(lat.max()), 1),
        "cpu_ms_per_request": {k: round(v * 1000 / lat.size, 2) for k, v in cpu.items()},
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--votes-per-client", type=int, default=200)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) + 1)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--retry-rate", type=float, default=0.05)
    parser.add_argument("--phases", default="saturate,paced")
    parser.add_argument("--rate", type=float, default=None, help="paced phase: requests/s offered in all")
    args = parser.parse_args()
    phases = [p for p in args.phases.split(",") if p]

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='formlab-bench-')}/bench.sqlite3"
    backend = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite (WAL)"
    rate = args.rate or 10 * LABEL_STUDIO[backend]

    error_type, rep_ids, tokens, users = setup_world(args.clients, args.votes_per_client * len(phases))
    from django.db import connection

    connection.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{args.port}",
         "-w", str(args.workers), "-k", args.worker_class, "--log-level", "warning"]
        # (gunicorn turns a sync worker given --threads > 1 into gthread, so only gthread gets it)
        + (["--threads", str(args.threads), "--keep-alive", "30"] if args.worker_class == "gthread" else []),
        cwd=ROOT, env=dict(os.environ),
    )
    results, load_before = [], os.getloadavg()[0]
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/api/schema/")
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(2)  # let every worker finish booting
        for i, phase in enumerate(phases):
            chunk = rep_ids[i * args.votes_per_client:(i + 1) * args.votes_per_client]
            results.append(run_phase(phase, args, args.port, tokens, chunk, error_type,
                                     rate if phase == "paced" else None))
    finally:
        server.terminate()
        server.wait(timeout=30)

    from annotation.models import SeverityVote

    stored = SeverityVote.objects.filter(annotator__in=users).count()
    distinct_sent = args.clients * args.votes_per_client * len(phases)
    print(json.dumps({
        "backend": backend, "clients": args.clients,
        "server": f"gunicorn {args.workers} x {args.worker_class}" + (f" ({args.threads} threads)"
                                                                        if args.worker_class == "gthread" else ""),
        "loadavg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)], "phases": results,
        "distinct_votes_sent": distinct_sent, "votes_stored": stored,
        "duplicates": max(0, stored - distinct_sent), "lost": max(0, distinct_sent - stored),
        "label_studio_per_s": LABEL_STUDIO[backend],
        "ratio_vs_label_studio": round(results[0]["requests_per_s"] / LABEL_STUDIO[backend], 1) if results else None,
    }, indent=2))


if __name__ == "__main__":
    main()
