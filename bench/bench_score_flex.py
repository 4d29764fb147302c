"""Benchmark: the ``score_flex`` job on a FLEX-size dataset, on PostgreSQL.

FLEX (seed 002): 38 subjects x 20 actions x 10 repetitions = 7,600 samples, each with three
stage-1 slot sets and three stage-2 reviews (45,600 raw label rows). Target: the job in <= 10 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_kg python bench/bench_score_flex.py

It creates (once, reused on later runs) the synthetic dataset ``bench-flex-7600`` without pose
arrays, then times:

- ``score_flex`` end to end through ``tasks.services.job_execute`` (the code a Celery worker
  runs: Job row claim, progress writes, bulk load, settle, score, one COPY transaction), ``--runs``
  times;
- the phases of one run: bulk load + encoding, the numeric core, the write;
- the agreement report over the same labels;
- a reference in the same process: the obvious per-sample ORM loop (three queries per sample,
  ``kg.core.two_stage.finalise`` per sample, one INSERT per row) on ``--reference-samples``
  samples, extrapolated to 7,600, and the ratio.

Options: --samples 7600 --runs 3 --reference-samples 400 --seed 1
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


def setup(n_samples: int, seed: int):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from datasets.models import Dataset
    from kg.services.graph import graph_load
    from kg.services.synthetic import flex_demo_create

    if connection.vendor != "postgresql":
        print("WARNING: not PostgreSQL; set DATABASE_URL for the figure the target refers to.")
    call_command("migrate", verbosity=0)
    graph_load()
    name = f"bench-flex-{n_samples}"
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        started = time.perf_counter()
        dataset = flex_demo_create(name=name, n_clips=n_samples, seed=seed, with_pose=False)
        print(f"created {name}: {n_samples} samples in {time.perf_counter() - started:.1f} s")
    return dataset


def reference_per_sample(dataset, limit: int) -> float:
    """The straightforward ORM version, per sample; returns seconds for ``limit`` samples."""
    from django.db import transaction

    from datasets.models import Clip
    from kg.core.two_stage import NotFinal, finalise
    from kg.models import FlexReview, FlexSampleLabel, FlexStage1Set
    from kg.selectors import graph_version_current
    from kg.services.graph import compiled_graph
    from kg.services.label_sets import FlexLabelSet

    version = graph_version_current()
    graph = compiled_graph(version)
    started = time.perf_counter()
    with transaction.atomic():
        label_set = FlexLabelSet.objects.create(dataset=dataset, number=10**6, graph_version=version,
                                                input_hash="reference")
        for clip in Clip.objects.filter(dataset=dataset).select_related("exercise").order_by("id")[:limit]:
            action = graph.action(clip.exercise.name)
            sets = [[action.names[k] for k in s.slot_keys] for s in FlexStage1Set.objects.filter(clip=clip)]
            reviews = [[action.names[k] for k in r.slot_keys] for r in FlexReview.objects.filter(clip=clip)]
            try:
                proposal, final = finalise(sets, reviews, len(action.slots))
            except NotFinal:
                continue
            penalty = sum(action.slots[p].weight for p in final)
            FlexSampleLabel.objects.create(
                label_set=label_set, clip=clip, action_index=action.index, status="final", n_stage1=len(sets),
                n_reviews=len(reviews), proposal=[action.keys[p] for p in proposal],
                final=[action.keys[p] for p in final], total=action.total, penalty=penalty,
                score=(1 - penalty / action.total) * 100)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference-samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    dataset = setup(args.samples, args.seed)

    from kg.models import FlexLabelSet, FlexReview, FlexStage1Set
    from kg.selectors import graph_version_current
    from kg.services.agreement import flex_agreement_compute
    from kg.services.graph import compiled_graph
    from kg.services.inputs import flex_inputs_load
    from kg.services.label_sets import flex_label_set_compute
    from tasks.models import Job
    from tasks.services import job_execute, job_launch

    n_sets = FlexStage1Set.objects.filter(clip__dataset=dataset).count()
    n_reviews = FlexReview.objects.filter(clip__dataset=dataset).count()
    print(f"dataset {dataset.name}: {args.samples} samples, {n_sets} stage-1 sets, {n_reviews} reviews")

    job_seconds, hashes = [], set()
    for run in range(args.runs):
        job = job_launch(kind="score_flex", dataset=dataset, params={"make_current": False}, check_role=False)
        started = time.perf_counter()
        job_execute(job_id=job.pk)
        seconds = time.perf_counter() - started
        job.refresh_from_db()
        assert job.state == Job.State.SUCCEEDED, job.error_traceback
        hashes.add(job.result["input_hash"])
        job_seconds.append(seconds)
        print(f"score_flex job run {run + 1}: {seconds:6.2f} s  ({job.result['counts']['status_final']} final, "
              f"mean score {job.result['summary']['mean']})")

    version = graph_version_current()
    graph = compiled_graph(version)
    t0 = time.perf_counter()
    flex_inputs_load(dataset=dataset, graph_version=version, graph=graph)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    flex_label_set_compute(dataset=dataset, graph_version=version, make_current=False)
    t_total = time.perf_counter() - t0
    t0 = time.perf_counter()
    flex_agreement_compute(dataset=dataset, graph_version=version)
    t_agreement = time.perf_counter() - t0
    print(f"service alone: {t_total:.2f} s, of which bulk load + encode {t_load:.2f} s")
    print(f"agreement report (alpha per action and error type): {t_agreement:.2f} s")

    ref = reference_per_sample(dataset, args.reference_samples)
    ref_full = ref * args.samples / args.reference_samples
    best = min(job_seconds)
    print(f"reference per-sample ORM loop: {ref:.2f} s for {args.reference_samples} samples "
          f"-> {ref_full:.1f} s extrapolated to {args.samples}")
    print(f"RESULT score_flex {args.samples} samples: best {best:.2f} s, median {statistics.median(job_seconds):.2f} s "
          f"(target <= 10 s); reference / ours = {ref_full / best:.1f}x; deterministic: {len(hashes) == 1}")
    # Leave the dataset for the next run, not the label sets of this one.
    FlexLabelSet.objects.filter(dataset=dataset, is_current=False).delete()


if __name__ == "__main__":
    main()
