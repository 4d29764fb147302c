"""Splits and exports at Halo scale: make_split as a job, export_split parquet and jsonl.

Runs against an existing Halo-scale synthetic dataset (84,608 clips, 1,642 participants,
~1.16 M repetitions, ~9 M severity votes, ~3.5 M end-point marks); it never generates one:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_bench python bench/bench_splits_exports.py --dataset halo

Each step runs in its own Python process so its peak memory (ru_maxrss) is its own:

- ``make_split``: ``job_launch`` + ``job_execute`` of the ``make_split`` job (reads clips,
  participants and every severity vote, stratifies on exercise, skill and clip severity, writes
  the frozen version and its 84,608 memberships). Reference in the same process: scikit-learn's
  ``GroupShuffleSplit`` on the same arrays (random participant-disjoint split, no
  stratification), for the largest proportion gap and the time of the split itself.
- ``export parquet`` / ``export jsonl``: ``split_export`` of that version without pose, into a
  temporary directory outside the project (as ``manage.py export_split``), raw labels.

Imports a worker has already loaded (pandas, pyarrow) are done before the clock starts. Besides
wall time it prints this process's CPU seconds and the 1-minute load average: on a shared 2-core
machine the wall time mostly measures the neighbours.

Targets (issue): make_split <= 20 s, each export <= 30 s, peak memory <= 2 GB. The split
versions and export directories the run creates are deleted at the end (``--keep`` keeps them).
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


def _warm_imports() -> None:
    """Import what a running Celery worker already has loaded (pyarrow pulls in pandas, ~1-5 s),
    so the timings are of the work, not of a cold interpreter."""
    import pandas  # noqa: F401
    import pyarrow as pa

    pa.array([1])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def step_make_split(dataset_name: str) -> dict:
    import django

    django.setup()
    import numpy as np

    from datasets.models import Dataset, SplitVersion
    from tasks.models import Job
    from tasks.services import job_execute, job_launch

    dataset = Dataset.objects.get(name=dataset_name)
    _warm_imports()
    load = os.getloadavg()[0]
    cpu0 = _cpu_s()
    started = time.perf_counter()
    job = job_launch(kind="make_split", dataset=dataset, params={"seed": 0}, check_role=False)
    job_execute(job_id=job.pk)
    seconds = time.perf_counter() - started
    cpu = _cpu_s() - cpu0
    job.refresh_from_db()
    if job.state != Job.State.SUCCEEDED:
        raise SystemExit(f"make_split failed: {job.error}")
    version = SplitVersion.objects.get(pk=job.result["split_version"])
    peak = _peak_mb()

    # Reference: a random participant-disjoint split (scikit-learn), scored on the same scale.
    from sklearn.model_selection import GroupShuffleSplit

    from datasets.core.splitting import split_balance
    from datasets.services.splits import _clip_frame, _groups

    clips = _clip_frame(dataset)
    groups = _groups(clips["participant_id"])
    t0 = time.perf_counter()
    outer = GroupShuffleSplit(n_splits=1, test_size=0.15, random_state=0)
    rest, test = next(outer.split(clips["id"], groups=groups))
    inner = GroupShuffleSplit(n_splits=1, test_size=0.15 / 0.85, random_state=0)
    train_i, val_i = next(inner.split(rest, groups=groups[rest]))
    ref_seconds = time.perf_counter() - t0
    assignment = np.full(clips["id"].shape[0], 2, dtype=np.int64)
    assignment[rest[train_i]] = 0
    assignment[rest[val_i]] = 1
    skill = np.full(int(groups.max()) + 1, -1)
    skill[groups] = clips["skill"]
    _, ref_dev = split_balance(assignment=assignment, clip_group=groups, clip_exercise=clips["exercise_id"],
                               group_strata=skill)
    by_var = version.balance["max_deviation_by_variable"]
    ours_ex_skill = max(by_var.get("exercise", 0), by_var.get("skill_level", 0))
    return {"step": "make_split", "seconds": round(seconds, 2), "client_cpu_s": round(cpu, 2),
            "load_avg_1m": round(load, 1), "peak_rss_mb": round(peak), "job": job.pk,
            "split_version": version.pk, "clips": version.counts["clips"],
            "max_deviation": version.balance["max_deviation"], "max_deviation_by_variable": by_var,
            "reference_group_shuffle_split": {"max_deviation_exercise_skill": round(ref_dev, 4),
                                              "split_seconds": round(ref_seconds, 2)},
            "deviation_ratio_vs_reference": round(ours_ex_skill / ref_dev, 3) if ref_dev else None}


def step_export(version_id: int, fmt: str, out: str) -> dict:
    import django

    django.setup()
    from datasets.exports.service import split_export
    from datasets.selectors_splits import split_version_get

    version = split_version_get(split_version_id=version_id)
    _warm_imports()
    marks = []
    load = os.getloadavg()[0]
    cpu0 = _cpu_s()
    started = time.perf_counter()
    manifest = split_export(split_version=version, fmt=fmt, out=out, params={"label_set": "raw"},
                            progress=lambda f, m="": marks.append((round(time.perf_counter() - started, 2), m)))
    seconds = time.perf_counter() - started
    return {"step": f"export {fmt}", "seconds": round(seconds, 2), "client_cpu_s": round(_cpu_s() - cpu0, 2),
            "load_avg_1m": round(load, 1), "peak_rss_mb": round(_peak_mb()),
            "records": manifest["records"], "bytes": sum(f["bytes"] for f in manifest["files"]),
            "phases": [m for m in marks if m[1]][:12]}


def _run(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-4000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="halo")
    parser.add_argument("--keep", action="store_true", help="Keep the split version and export directories")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--version", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "make_split":
        print(json.dumps(step_make_split(args.dataset)))
        return
    if args.step == "export":
        print(json.dumps(step_export(args.version, args.format, args.out)))
        return

    results = [_run(["--step", "make_split", "--dataset", args.dataset])]
    version = results[0]["split_version"]
    scratch = Path(tempfile.mkdtemp(prefix="formlab-bench-exports-"))
    try:
        for fmt in ("parquet", "jsonl"):
            results.append(_run(["--step", "export", "--version", str(version), "--format", fmt,
                                 "--out", str(scratch / fmt)]))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    targets = {"make_split": 20, "export parquet": 30, "export jsonl": 30}
    print(f"{'step':<16} {'seconds':>8} {'target':>7} {'client CPU s':>12} {'load 1m':>8} {'peak MB':>8}")
    for r in results:
        print(f"{r['step']:<16} {r['seconds']:>8.2f} {targets[r['step']]:>7} {r['client_cpu_s']:>12.2f} "
              f"{r['load_avg_1m']:>8} {r['peak_rss_mb']:>8}")
    ms = results[0]
    print(f"make_split largest deviation {ms['max_deviation']} ({json.dumps(ms['max_deviation_by_variable'])}); "
          f"GroupShuffleSplit (exercise, skill) {ms['reference_group_shuffle_split']['max_deviation_exercise_skill']}; "
          f"ratio ours/reference {ms['deviation_ratio_vs_reference']}")
    print(json.dumps(results, indent=2))
    if not args.keep:
        import django

        django.setup()
        from datasets.models import SplitVersion

        SplitVersion.objects.filter(pk=version).delete()


if __name__ == "__main__":
    main()
