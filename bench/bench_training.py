"""Benchmark: ``train_severity`` on a synthetic Halo-like dataset (seed 000 target, time, memory).

Run from the repository root, against PostgreSQL (the default database below; create it first)::

    createdb -h 127.0.0.1 -U postgres formlab_train_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_train_bench \
        .venv/bin/python manage.py migrate
    .venv/bin/python bench/bench_training.py --dataset halo5k --clips 5000
    .venv/bin/python bench/bench_training.py --dataset halo20k --clips 20000 --kinds train_severity

What it does, each step skipped when its result is already there:

1. ``make_demo_data``-equivalent: the foundation generator, default noise, with pose arrays;
2. the aggregation jobs (end-point consensus, severity label set with BMM scores and agreement);
3. ``make_split`` (participant-disjoint 70/15/15);
4. each training kind asked for, **in a child process** through the real job service, so its wall
   time and peak RSS are the training job's alone (``RUSAGE_CHILDREN``); run twice with
   ``--repeat 2`` to see the feature cache at work.

It prints the headline, per (exercise, error type) Kappa1 against the target and the majority-class
baseline, and two diagnostics of how much the labels allow: the Kappa1 of the *hidden true*
severity against the majority vote on the same test items (the ceiling a perfect pose model could
reach against noisy votes), and the annotators' own Kappa1. Figures go to ``bench/training.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/formlab_train_bench")
os.environ.setdefault("FORMLAB_MEDIA_ROOT", str(ROOT / "var" / "bench-training-media"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


def _setup():
    import django

    django.setup()
    from tasks import registry

    registry.autodiscover()


def _run_job(kind: str, dataset, params: dict) -> dict:
    """Launch and execute one job in this process (the worker's code path, without the broker)."""
    from tasks.models import Job
    from tasks.services import job_execute, job_launch

    job = job_launch(kind=kind, dataset=dataset, params=params, check_role=False)
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    if job.state != Job.State.SUCCEEDED:
        raise SystemExit(f"{kind} {job.state}: {job.error}\n{job.error_traceback}")
    return job.result


def prepare(name: str, clips: int, seed: int) -> int:
    """Dataset, label sets and split version; returns the split version id."""
    from datasets.models import Dataset, SplitVersion
    from datasets.services.synthetic import synthetic_dataset_create
    from tasks import registry

    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        start = time.perf_counter()
        dataset = synthetic_dataset_create(name=name, n_clips=clips, seed=seed, with_pose=True)
        print(f"generated {clips} clips with pose in {time.perf_counter() - start:.1f} s", flush=True)
    kinds = registry.all_kinds()
    for kind in ("aggregate_endpoints", "aggregate_severity"):  # the latter writes the agreement report too
        if kind in kinds and not _has_current(dataset, kind):
            start = time.perf_counter()
            _run_job(kind, dataset, {})
            print(f"{kind} in {time.perf_counter() - start:.1f} s", flush=True)
    split = SplitVersion.objects.filter(dataset=dataset).order_by("-version").first()
    if split is None:
        start = time.perf_counter()
        result = _run_job("make_split", dataset, {"ratios": "0.7,0.15,0.15", "seed": 0})
        split = SplitVersion.objects.get(pk=result["split_version"])
        print(f"make_split in {time.perf_counter() - start:.1f} s", flush=True)
    return split.pk


def _has_current(dataset, kind: str) -> bool:
    from annotation.models import LabelSet

    wanted = {"aggregate_endpoints": "endpoints", "aggregate_severity": "severity"}[kind]
    return LabelSet.objects.filter(dataset=dataset, kind=wanted, is_current=True).exists()


def train_child(name: str, kind: str, params: dict) -> None:
    """Child process: run one training job and print its result as the last line."""
    from datasets.models import Dataset

    dataset = Dataset.objects.get(name=name)
    start = time.perf_counter()
    result = _run_job(kind, dataset, params)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    print("RESULT " + json.dumps(result))


def oracle_kappa1(run) -> dict:
    """Kappa1 of the hidden true severity against the majority vote, per error type, on test."""
    import numpy as np

    from annotation.core.agreement import kappa1
    from annotation.models import SeverityLabel
    from datasets.models import SplitMembership, TrueSeverity

    test_clips = set(SplitMembership.objects.filter(split_version_id=run.split_version_id, split=2)
                     .values_list("clip_id", flat=True))
    truth = {(r, e): s for r, e, s in TrueSeverity.objects.filter(repetition__clip__dataset=run.dataset)
             .values_list("repetition_id", "error_type_id", "severity")}
    rows = SeverityLabel.objects.filter(label_set_id=run.label_set_id).values_list(
        "repetition_id", "repetition__clip_id", "error_type_id", "majority")
    per: dict[int, tuple[list, list]] = {}
    for rep, clip, et, majority in rows:
        if clip in test_clips and (rep, et) in truth and majority is not None and majority >= 0:
            per.setdefault(et, ([], []))[0].append(majority)
            per[et][1].append(truth[(rep, et)])
    return {et: kappa1(np.array(m), np.array(t)) for et, (m, t) in per.items()}


def report(run_id: int) -> None:
    from tasks.models import ModelRun

    run = ModelRun.objects.get(pk=run_id)
    if run.kind != ModelRun.Kind.SEVERITY:
        print(json.dumps(run.headline, indent=2))
        return
    oracle = oracle_kappa1(run)
    print(f"{'exercise:error type':64s} {'n_test':>6s} {'kappa1':>7s} {'target':>7s} {'met':>5s} "
          f"{'base':>6s} {'oracle':>7s} {'annot':>6s}")
    for row in run.metrics["error_types"]:
        fmt = lambda v: "   -  " if v is None else f"{v:6.3f}"  # noqa: E731
        print(f"{row['key'][:64]:64s} {row.get('n_test', 0):6d} {fmt(row.get('kappa1'))} {fmt(row.get('target'))} "
              f"{str(row.get('met')):>5s} {fmt(row.get('baseline_kappa1'))} {fmt(oracle.get(row['error_type_id']))} "
              f"{fmt(row.get('annotator_kappa1'))}  {row.get('skipped', '')}")
    print(json.dumps(run.headline, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="halo5k")
    parser.add_argument("--clips", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default="train_severity",
                        help="comma-separated training kinds (train_severity, train_exercise_classifier, ...)")
    parser.add_argument("--params", default="{}", help="JSON parameters for every training job")
    parser.add_argument("--repeat", type=int, default=1, help="run each training kind this many times")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads of the training child (default 1: on a shared, loaded machine "
                             "OpenMP spin-waiting distorts the figures; CPU seconds are then an upper bound of "
                             "the wall time on an idle machine)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _setup()
    if args.child:
        train_child(args.dataset, args.child, json.loads(args.params))
        return
    split_id = prepare(args.dataset, args.clips, args.seed)
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        params = {"split_version": split_id, **json.loads(args.params)}
        for attempt in range(args.repeat):
            usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
            out = subprocess.run([sys.executable, __file__, "--dataset", args.dataset, "--child", kind,
                                  "--params", json.dumps(params)], capture_output=True, text=True, cwd=ROOT, env=env)
            wall = time.perf_counter() - start
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (usage.ru_utime + usage.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
            if out.returncode != 0:
                raise SystemExit(out.stdout[-3000:] + out.stderr[-3000:])
            result = json.loads(out.stdout.strip().splitlines()[-1].removeprefix("RESULT "))
            print(f"\n== {kind} (run {attempt + 1}) on {args.dataset}: job wall {result['wall_s']:.1f} s, "
                  f"process wall {wall:.1f} s, process CPU {cpu:.1f} s ({args.threads} OpenMP thread(s)), "
                  f"peak RSS {usage.ru_maxrss / 1024**2:.2f} GB, load average {os.getloadavg()[0]:.1f}, "
                  f"run {result['run_id']}", flush=True)
            report(result["run_id"])


if __name__ == "__main__":
    main()
