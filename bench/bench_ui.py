"""The labelling UI, measured in the real browser and under a crowd of annotators.

Three figures (targets from the UI issue):

1. frame step: on a 2,500-frame, 26-joint clip, keydown -> canvas drawn, p95 < 16 ms
   (``frameStep``: from the key event's timestamp to the end of the synchronous canvas draw;
   ``framePaint``: to the next animation frame, i.e. including the wait for the display's vsync);
2. end-point page ready (pose loaded, first frame drawn) < 1 s on the local server, measured
   from navigation start (``performance.now()`` origin) in a fresh page, cold and warm;
3. ``POST /api/queue/next/`` p99 < 100 ms with 50 concurrent annotators on PostgreSQL: 50
   threads, each an annotator with its own token, loop next -> submit end points -> next ...,
   with a think time between items (``--think-ms`` +/- 50 %), against gunicorn served as the
   README says for production (sync workers). Two crowds, each of fresh annotators:
   ``queue`` (the figure judged against the target): the annotators arrive at random moments
   within one think time, as a team starting its shift does, and then work side by side;
   ``queue_burst`` (a stress figure): all 50 first calls at the same instant (a barrier), on a
   server that has already served. Then the burst crowd again calling the services in this
   process (``queue_service_only``: the queue's own cost, without the HTTP stack).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_bench_ui python bench/bench_ui.py

Options: --clips 2000 --annotators 50 --items-per-annotator 30 --think-ms 3000 --workers 3
--threads 1 (more: gthread workers) --port 8791 --steps 400; --skip-queue (figures 1-2 only),
--queue-only (figure 3 only).
The server is gunicorn with the production settings (static files collected into a temporary
FORMLAB_VAR_DIR), so nothing here touches the shared var/.
The browser is Debian's /usr/bin/chromium (never downloaded).
"""
import argparse
import http.client
import json
import os
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

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def percentiles(values) -> dict:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    return {"n": int(a.size), "p50": round(float(np.percentile(a, 50)), 2),
            "p95": round(float(np.percentile(a, 95)), 2), "p99": round(float(np.percentile(a, 99)), 2),
            "max": round(float(a.max()), 2)}


def setup(args):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from datasets.bulk import bulk_insert, db_now, reserve_ids, reset_sequence
    from datasets.models import Clip, Dataset, Exercise
    from tests.ui.world import halo_world

    tag = uuid.uuid4().hex[:8]
    # 1 + 2: one 2,500-frame clip with real synthetic pose
    long_ds = halo_world(name=f"bench-ui-long-{tag}", n_clips=1, seed=11, min_frames=2500)
    # 3: many clips for the queue (the queue reads no pose, so every clip shares one file name)
    queue_ds = Dataset.objects.create(name=f"bench-ui-queue-{tag}")
    exercise = Exercise.objects.create(dataset=queue_ds, slug="squat", name="Squat")
    with transaction.atomic():
        first = reserve_ids(Clip, args.clips)
        bulk_insert(Clip, {
            "id": np.arange(first, first + args.clips, dtype=np.int64), "dataset_id": queue_ds.pk,
            "participant_id": None, "exercise_id": exercise.pk,
            "external_id": [f"q{i:06d}" for i in range(args.clips)], "source": "bench", "fps": 30.0,
            "frame_count": 300, "pose_file": "pose/bench/placeholder.npy", "video_file": "", "content_hash": "",
            "created_at": db_now(),
        }, n_rows=args.clips)
        reset_sequence(Clip)
    User = get_user_model()
    group, _ = Group.objects.get_or_create(name="annotator")
    # two crowds of annotators for the queue, and one user for the browser
    users = [User.objects.create_user(f"bench-ui-{tag}-{i:03d}", password=uuid.uuid4().hex)
             for i in range(2 * args.annotators + 1)]
    group.user_set.add(*users)
    tokens = [Token.objects.create(user=u).key for u in users]
    return long_ds, queue_ds, users, tokens


def rank_by_uncertainty(queue_ds, seed=0):
    """Give the queue dataset a current end-point label set over three quarters of its clips (one
    in ten with disagreeing annotators, spreads at random) and order its queue uncertainty first."""
    from django.utils import timezone

    from annotation.models import EndPointLabel, LabelSet
    from annotation.services.uncertainty import label_set_ranking_store
    from datasets.models import Dataset

    rng = np.random.default_rng(seed)
    clip_ids = list(queue_ds.clips.order_by("pk").values_list("pk", flat=True))
    ranked = clip_ids[: 3 * len(clip_ids) // 4]
    now = timezone.now()
    label_set = LabelSet.objects.create(dataset=queue_ds, kind="endpoints", number=1, method="consensus",
                                        input_count=1, input_hash=uuid.uuid4().hex, item_count=len(ranked),
                                        is_current=True, started_at=now, finished_at=now)
    EndPointLabel.objects.bulk_create(
        EndPointLabel(label_set=label_set, clip_id=clip_id, n_annotators=3, count=3, ends=[60.0, 150.0, 240.0],
                      spread=[float(x) for x in rng.uniform(0, 20, 3)], disagree=bool(rng.random() < 0.1),
                      reason="")
        for clip_id in ranked)
    label_set_ranking_store(label_set)  # as the aggregation job does when it writes a label set
    Dataset.objects.filter(pk=queue_ds.pk).update(queue_order=Dataset.QueueOrder.UNCERTAINTY_FIRST)
    queue_ds.refresh_from_db()


def start_server(args):
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{args.port}",
         "-w", str(args.workers), "--log-level", "warning"]
        + (["--threads", str(args.threads), "--keep-alive", "30"] if args.threads > 1 else []),
        cwd=ROOT, env=dict(os.environ),
    )
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
            conn.request("GET", "/accounts/login/")
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("gunicorn did not come up")


def session_cookie(user):
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key}


def browser_figures(args, base, dataset, user):
    from playwright.sync_api import sync_playwright

    out = {}
    cookie = session_cookie(user)  # before Playwright's event loop starts in this thread
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_cookies([dict(cookie, url=base)])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        ready = []
        for attempt in range(6):  # the first load is cold (no cached modules), then warm
            page.goto(f"{base}/annotate/{dataset.pk}/endpoints/")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            ready.append(page.evaluate("window.__formlabPerf.ready"))
        frames = int(page.text_content("#frame-max")) + 1
        page.evaluate("window.__formlabPerf.frameStep = []; window.__formlabPerf.framePaint = []")
        for i in range(args.steps):
            page.keyboard.press("Shift+ArrowRight" if i % 10 == 9 else "ArrowRight")
        for _ in range(args.steps // 4):
            page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(200)
        perf = page.evaluate("window.__formlabPerf")
        out["clip_frames"] = frames
        out["page_ready_ms"] = {"cold": round(ready[0], 1), "warm_median": round(float(np.median(ready[1:])), 1),
                                "all": [round(r, 1) for r in ready]}
        out["frame_step_ms"] = percentiles(perf["frameStep"])
        out["frame_paint_ms"] = percentiles(perf["framePaint"])
        out["page_errors"] = errors
        browser.close()
    return out


def annotator_thread(port, token, dataset_id, n_items, think_s, barrier, latencies, errors, seed=0):
    """One annotator. ``barrier`` set: the first call waits for every other annotator's (a
    burst); else it comes at a random moment within one think time (arrivals)."""
    import random

    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(path, body):
        nonlocal conn
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data or b"null"), time.perf_counter() - started
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            return -1, None, time.perf_counter() - started

    if barrier is not None:
        barrier.wait()
    else:
        time.sleep(think_s * rng.uniform(0.0, 1.0))
    for round_ in range(n_items):
        status, data, elapsed = post("/api/queue/next/", {"dataset": dataset_id, "kind": "endpoints"})
        latencies.append((round_, elapsed))
        if status != 200 or not data or not data.get("item"):
            errors.append(status)
            return
        # People do not work in lockstep: each item takes its own time (think +/- 50 %).
        time.sleep(think_s * rng.uniform(0.5, 1.5))
        clip = data["item"]["clip"]["id"]
        status, _, _ = post(f"/api/clips/{clip}/end-points/submit/",
                            {"client_key": uuid.uuid4().hex, "frames": [60, 150, 240]})
        if status not in (200, 201):
            errors.append(status)


def warm_up(port, token, n=30):
    """Requests before the crowds, as on a server that has been running: every worker has
    imported its views and holds its database connection."""
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/exercises/?page_size=1", headers={"Authorization": f"Token {token}"})
        conn.getresponse().read()
        conn.close()


def queue_figures(args, queue_ds, tokens, *, burst: bool):
    latencies, errors = [], []
    barrier = threading.Barrier(args.annotators) if burst else None
    threads = [threading.Thread(target=annotator_thread, args=(args.port, tokens[i], queue_ds.pk,
                                                                 args.items_per_annotator, args.think_ms / 1000,
                                                                 barrier, latencies, errors, i))
               for i in range(args.annotators)]
    started, cpu = time.perf_counter(), cpu_now()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - started, cpu_since(cpu)
    from django.db.models import Count

    from annotation.models import Assignment

    per_clip = Assignment.objects.filter(clip__dataset=queue_ds).values("clip_id").annotate(n=Count("pk"))
    over = sum(1 for row in per_clip if row["n"] > 3)
    first = [t for r, t in latencies if r == 0]
    steady = [t for r, t in latencies if r > 0]
    return {
        "annotators": args.annotators, "clips": args.clips, "think_ms": args.think_ms, "order": args.order,
        "start": "all at one instant" if burst else "arrivals within one think time",
        "next_calls": len(latencies), "errors": len(errors), "error_statuses": sorted(set(errors)),
        "seconds": round(elapsed, 1), "next_ms": percentiles(np.array([t for _, t in latencies]) * 1000),
        "next_ms_first_call": percentiles(np.array(first) * 1000),
        "next_ms_later_calls": percentiles(np.array(steady) * 1000),
        "clips_over_quota": over,
        # every request counted: the next calls and the end-point submissions between them
        "cpu_ms_per_request": {k: round(v * 1000 / (2 * len(latencies)), 2) for k, v in cpu.items()},
    }


def service_thread(user, dataset, n_items, think_s, barrier, latencies, errors, seed=0):
    """The same loop without HTTP: queue_next and end_points_submit called in this process."""
    from django.db import connection

    from annotation.services.labels import end_points_submit
    from annotation.services.queue import queue_next

    import random

    rng = random.Random(seed)
    barrier.wait()
    try:
        for round_ in range(n_items):
            started = time.perf_counter()
            assignment = queue_next(user=user, dataset=dataset, kind="endpoints")
            latencies.append((round_, time.perf_counter() - started))
            if assignment is None:
                errors.append("empty")
                return
            time.sleep(think_s * rng.uniform(0.5, 1.5))
            end_points_submit(user=user, clip=assignment.clip, client_key=uuid.uuid4().hex, frames=[60, 150, 240])
    except Exception as exc:  # reported, not raised: the other threads go on
        errors.append(repr(exc))
    finally:
        connection.close()


def service_figures(args, queue_ds, users):
    latencies, errors = [], []
    barrier = threading.Barrier(args.annotators)
    threads = [threading.Thread(target=service_thread, args=(users[i], queue_ds, args.items_per_annotator,
                                                               args.think_ms / 1000, barrier, latencies, errors, i))
               for i in range(args.annotators)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"annotators": args.annotators, "think_ms": args.think_ms, "next_calls": len(latencies),
            "errors": len(errors), "seconds": round(time.perf_counter() - started, 1),
            "next_ms": percentiles(np.array([t for _, t in latencies]) * 1000),
            "next_ms_later_calls": percentiles(np.array([t for r, t in latencies if r > 0]) * 1000)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--items-per-annotator", type=int, default=30)
    parser.add_argument("--think-ms", type=float, default=3000)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) + 1)
    parser.add_argument("--threads", type=int, default=1, help="more than 1: gthread workers")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--skip-queue", action="store_true")
    parser.add_argument("--queue-only", action="store_true", help="skip the browser figures (1 and 2)")
    parser.add_argument("--order", default="breadth_first", choices=["breadth_first", "uncertainty_first"],
                        help="the queue dataset's order (uncertainty first: from a current end-point label set)")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database: the queue figure is for PostgreSQL.")
    var_dir = tempfile.mkdtemp(prefix="formlab-bench-ui-")
    os.environ["FORMLAB_VAR_DIR"] = var_dir
    os.environ.setdefault("FORMLAB_MEDIA_ROOT", str(Path(var_dir) / "media"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("SECRET_KEY", "bench-ui-" + "x" * 60)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

    long_ds, queue_ds, users, tokens = setup(args)
    if args.order == "uncertainty_first":
        rank_by_uncertainty(queue_ds)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="annotator")
    service_users = [get_user_model().objects.create_user(f"bench-ui-svc-{uuid.uuid4().hex[:10]}")
                     for _ in range(args.annotators)]
    group.user_set.add(*service_users)
    from django.db import connection

    connection.close()
    load = os.getloadavg()
    server = start_server(args)
    try:
        result = {"machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load]},
                  "server": f"gunicorn -w {args.workers}" + (f" --threads {args.threads}" if args.threads > 1 else
                                                             " (sync workers)") + ", production settings"}
        if not args.queue_only:
            result["browser"] = browser_figures(args, f"http://127.0.0.1:{args.port}", long_ds, users[-1])
        if not args.skip_queue:
            warm_up(args.port, tokens[-1])
            crowd = args.annotators
            result["queue"] = queue_figures(args, queue_ds, tokens[:crowd], burst=False)
            result["queue_burst"] = queue_figures(args, queue_ds, tokens[crowd:2 * crowd], burst=True)
            # The same crowd without the HTTP stack, on a fresh set of annotators and clips.
            result["queue_service_only"] = service_figures(args, queue_ds, service_users)
        result["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        server.terminate()
        server.wait(timeout=30)
    targets = {}
    if "browser" in result:
        targets["frame_step_p95_under_16ms"] = result["browser"]["frame_step_ms"]["p95"] < 16
        targets["page_ready_under_1s"] = result["browser"]["page_ready_ms"]["warm_median"] < 1000
    if "queue" in result:
        targets["next_p99_under_100ms"] = result["queue"]["next_ms"]["p99"] < 100
        targets["next_burst_p99_under_100ms"] = result["queue_burst"]["next_ms"]["p99"] < 100
    result["targets_met"] = targets
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
