"""Label aggregation platform at Halo scale: the jobs and the vote import, end to end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_bench \\
        python bench/bench_aggregation_platform.py --dataset halo [--phases severity,endpoints,import]

Needs the Halo-scale dataset first (``manage.py make_demo_data --dataset halo --clips 84608 --seed 0
--no-pose``, ~9 M votes). Phases, each in a child process of its own so its peak memory is its own:

- ``severity``: the ``aggregate_severity`` job (method=all: load every vote with COPY, mean,
  majority, BMM, Dawid-Skene, agreement, write the label set in one transaction), run in-process
  through ``tasks.services.job_execute``. ``--split always --helpers 1`` also starts one Celery
  worker process that computes error types beside the job's own process (2 processes on 2 cores);
  ``--split both`` runs it both ways and prints the ratio.
- ``endpoints``: the ``aggregate_endpoints`` job over every clip.
- ``evaluate``: both aggregations, then ``evaluate_labels`` against the hidden truth (synthetic
  datasets): each method's accuracy, MAE, Spearman, BMM calibration, disagreeing clips caught.
- ``import``: ``manage.py export_votes`` of the dataset, then ``manage.py import_votes`` of that
  file into a fresh scratch database (``--import-db``, dropped and re-created), timed as a user
  would run them, then ``export_votes`` again from the scratch database to check the round trip.

The label sets the run writes are deleted afterwards (``--keep`` keeps them). Figures go to
stdout as JSON lines; ``bench/aggregation_platform.md`` records them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/formlab_bench"
DEFAULT_IMPORT_DB = "postgres://postgres@127.0.0.1:5432/formlab_agg_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/6"
GOALS = {"severity": 60.0, "endpoints": 30.0, "import": 120.0, "evaluate": None}


def _setup_django():
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _peak_mb(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# -- child processes -------------------------------------------------------------------------------

def child_job(kind: str, dataset_name: str, params: dict, keep: bool) -> dict:
    _setup_django()
    from annotation.models import LabelSet
    from datasets.models import Dataset
    from tasks import registry
    from tasks.models import Job
    from tasks.services import job_execute

    dataset = Dataset.objects.get(name=dataset_name)
    clean = registry.validate_params(registry.get_kind(kind), params)
    job = Job.objects.create(kind=kind, dataset=dataset, params=json.loads(json.dumps(clean)))
    started = time.perf_counter()
    job_execute(job_id=job.pk)
    wall = time.perf_counter() - started
    job.refresh_from_db()
    out = {"kind": kind, "params": params, "state": job.state, "wall_s": round(wall, 2),
           "job_duration_s": round(job.duration_s or 0.0, 2), "peak_rss_mb": round(_peak_mb(), 1),
           "result": job.result, "error": job.error}
    if not keep:
        deleted = LabelSet.objects.filter(job=job).delete()[0]
        out["cleaned_rows"] = deleted
    return out


def _start_helpers(n: int) -> list[subprocess.Popen]:
    procs = []
    log_dir = ROOT / "test-output"
    log_dir.mkdir(exist_ok=True)
    for i in range(n):
        log = open(log_dir / f"bench-aggregation-helper-{i}.log", "w")
        procs.append(subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", "default", "-c", "1", "--pool", "prefork",
             "-n", f"bench-agg-{i}-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 120
    for i, proc in enumerate(procs):
        path = log_dir / f"bench-aggregation-helper-{i}.log"
        while " ready." not in path.read_text():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"helper worker {i} did not start: {path.read_text()[-2000:]}")
            time.sleep(0.3)
    return procs


def _stop_helpers(procs) -> list[float]:
    peaks = [max([_peak_mb(c) for c in _children(p.pid)] or [float("nan")]) for p in procs]
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return [round(p, 1) for p in peaks]


def _run_child(args: list[str], env=None) -> dict:
    out = subprocess.run([PYTHON, __file__, *args], cwd=ROOT, env=env or dict(os.environ), capture_output=True,
                         text=True)
    if out.returncode:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def phase_severity(args) -> list[dict]:
    results = []
    modes = ["never", "always"] if args.split == "both" else [args.split]
    for mode in modes:
        helpers = _start_helpers(args.helpers) if mode != "never" and args.helpers else []
        try:
            # Purge leftovers so the helpers see only this run's parts.
            result = _run_child(["--child-job", "aggregate_severity", "--dataset", args.dataset,
                                 "--params", json.dumps({"method": "all", "split": mode})]
                                + (["--keep"] if args.keep else []))
        finally:
            result_helpers = _stop_helpers(helpers) if helpers else []
        result["helpers"] = len(helpers)
        result["helper_peak_rss_mb"] = result_helpers
        _report("severity", result)
        results.append(result)
    if len(results) == 2 and all(r["state"] == "succeeded" for r in results):
        print(json.dumps({"phase": "severity", "ratio_split_vs_single":
                          round(results[1]["job_duration_s"] / results[0]["job_duration_s"], 3)}), flush=True)
    return results


def phase_endpoints(args) -> dict:
    result = _run_child(["--child-job", "aggregate_endpoints", "--dataset", args.dataset, "--params", "{}"]
                        + (["--keep"] if args.keep else []))
    _report("endpoints", result)
    return result


def phase_evaluate(args) -> dict:
    """Both aggregations (kept for a moment), then evaluate_labels against the hidden truth."""
    severity = _run_child(["--child-job", "aggregate_severity", "--dataset", args.dataset, "--params",
                           json.dumps({"method": "all", "split": "never"}), "--keep"])
    endpoints = _run_child(["--child-job", "aggregate_endpoints", "--dataset", args.dataset, "--params", "{}",
                            "--keep"])
    ids = {"label_set": severity["result"]["label_set"], "endpoint_label_set": endpoints["result"]["label_set"]}
    result = _run_child(["--child-job", "evaluate_labels", "--dataset", args.dataset, "--params", json.dumps(ids)]
                        + (["--keep"] if args.keep else []))
    if not args.keep:
        _run_child(["--child-delete-label-sets", json.dumps(list(ids.values())), "--dataset", args.dataset])
    _report("evaluate", result)
    return result


def child_delete_label_sets(ids: list[int]) -> dict:
    _setup_django()
    from annotation.models import LabelSet

    return {"deleted": LabelSet.objects.filter(pk__in=ids).delete()[0]}


def _manage(argv: list[str], env: dict) -> tuple[float, float, str]:
    """Run manage.py; (wall seconds, peak RSS MB of that process, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "manage.py", *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"manage.py {' '.join(argv)} failed:\n{stderr[-4000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, usage.ru_maxrss / 1024, stdout


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def phase_import(args) -> dict:
    source_env = dict(os.environ)
    target_env = dict(os.environ, DATABASE_URL=args.import_db)
    db_name = args.import_db.rsplit("/", 1)[1]
    work = Path(tempfile.mkdtemp(prefix="bench-agg-import-"))
    exported = str(work / "votes.csv")
    export_s, export_mb, _ = _manage(["export_votes", "--dataset", args.dataset, "--out", exported], source_env)
    rows = sum(1 for _ in open(exported, "rb")) - 1
    # A fresh database: the import creates the dataset, clips, repetitions and annotators.
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db_name}"],
                   check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db_name}"], check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=target_env, check=True)
    import_s, import_mb, stdout = _manage(["import_votes", "--dataset", args.dataset, "--file", exported], target_env)
    again = str(work / "again.csv")
    _manage(["export_votes", "--dataset", args.dataset, "--out", again], target_env)
    result = {"rows": rows, "file_mb": round(os.path.getsize(exported) / 2**20, 1),
              "export_s": round(export_s, 2), "import_s": round(import_s, 2),
              "import_rows_per_s": round(rows / import_s), "peak_rss_mb_max_of_commands": round(max(export_mb,
                                                                                               import_mb), 1),
              "round_trip_identical": _sha256(exported) == _sha256(again),
              "import_result": json.loads(stdout)}
    for path in (exported, again):
        os.unlink(path)
    if not args.keep:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db_name}"],
                       check=True)
    _report("import", result, seconds=result["import_s"])
    return result


def _report(phase: str, result: dict, seconds: float | None = None):
    seconds = seconds if seconds is not None else result.get("job_duration_s")
    goal = GOALS[phase]
    line = {"phase": phase, "seconds": seconds, "goal_s": goal,
            "within_goal": None if goal is None else seconds is not None and seconds <= goal, **result}
    print(json.dumps(line, default=str), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="halo")
    parser.add_argument("--phases", default="severity,endpoints,import")
    parser.add_argument("--split", choices=["never", "always", "auto", "both"], default="auto")
    parser.add_argument("--helpers", type=int, default=1, help="Celery worker processes helping a split run.")
    parser.add_argument("--import-db", default=DEFAULT_IMPORT_DB)
    parser.add_argument("--keep", action="store_true", help="Keep the label sets / import database written.")
    parser.add_argument("--child-job", help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--child-delete-label-sets", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER)
    if args.child_delete_label_sets:
        print(json.dumps(child_delete_label_sets(json.loads(args.child_delete_label_sets))))
        return
    if args.child_job:
        print(json.dumps(child_job(args.child_job, args.dataset, json.loads(args.params), args.keep), default=str))
        return
    print(json.dumps({"bench": "aggregation_platform", "dataset": args.dataset,
                      "database": os.environ["DATABASE_URL"].rsplit("/", 1)[1], "cpus": os.cpu_count(),
                      "load_avg": os.getloadavg()}), flush=True)
    for phase in args.phases.split(","):
        {"severity": phase_severity, "endpoints": phase_endpoints, "import": phase_import,
         "evaluate": phase_evaluate}[phase](args)


if __name__ == "__main__":
    main()
