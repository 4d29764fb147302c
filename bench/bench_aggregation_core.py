"""Benchmark: label-aggregation core (annotation/core) against crowd-kit at Halo Trainer scale.

Run: ``python bench/bench_aggregation_core.py`` from the repository root (``--items`` to scale
down). Prints the figures recorded in ``bench/aggregation_core.md``.

- Votes: 900,000 (repetition x error type) items x 10 severity votes 0..3 = 9 M votes, 211
  annotators of varying reliability (off-by-one slips, a few spammers), 52 error types with
  their own no-error share (seed 000: 52 error types, 10 annotators per repetition).
- Majority vote: ``aggregate_votes`` vs ``crowdkit.aggregation.MajorityVote``.
- Dawid-Skene: ``DawidSkene`` vs ``crowdkit.aggregation.DawidSkene``, both exactly ``--ds-iter``
  EM iterations (``tol=-inf``), labels compared.
- BMM severity scores for each of the 52 error types; agreement (Kappa0/Kappa1 per annotator
  against the leave-one-out majority, Krippendorff's ordinal alpha).
- End-point consensus: 84,608 clips x 3 annotators x ~13.7 ends (seed 000: 1,157,104 reps).

Ours run first, so the peak RSS printed after them is ours alone; crowd-kit runs last. Times are
wall-clock and CPU seconds in one process (``time.perf_counter``, ``time.process_time``).
"""
from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotation.core.agreement import annotator_agreement, krippendorff_alpha_ordinal  # noqa: E402
from annotation.core.bmm import bmm_severity_scores  # noqa: E402
from annotation.core.consensus import batch_endpoint_consensus  # noqa: E402
from annotation.core.dawid_skene import DawidSkene  # noqa: E402
from annotation.core.votes import aggregate_votes  # noqa: E402

N_ANNOTATORS = 211  # prime, so (start + j * step) % N gives 10 distinct annotators per item
N_ERROR_TYPES = 52
VOTES_PER_ITEM = 10
N_CLIPS = 84_608
MEAN_REPS = 1_157_104 / 84_608


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux


def timed(label: str, fn, *args, **kwargs):
    """Run ``fn``; print wall and CPU seconds. Returns (result, (wall, cpu)).

    CPU time (``time.process_time``) is printed next to wall time because the benchmark machine
    is shared: when other jobs compete for the 2 cores, wall time grows but CPU time does not.
    """
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<44s} {wall:8.2f} s wall {cpu:8.2f} s CPU   peak RSS so far {peak_rss_gb():5.2f} GB",
          flush=True)
    return result, (wall, cpu)


def synthetic_votes(n_items: int, seed: int = 0):
    """Ordinal severity votes with annotator noise; returns flat vote arrays and the truth."""
    rng = np.random.default_rng(seed)
    error_type = np.arange(n_items) % N_ERROR_TYPES
    no_error = rng.uniform(0.5, 0.95, N_ERROR_TYPES)  # share of class 0 per error type
    rest = (1 - no_error)[:, None] * np.array([0.5, 0.3, 0.2])
    cum = np.cumsum(np.column_stack([no_error, rest]), axis=1)
    truth = (rng.random(n_items)[:, None] > cum[error_type]).sum(axis=1).astype(np.int8)

    start = rng.integers(0, N_ANNOTATORS, n_items)
    step = rng.integers(1, N_ANNOTATORS, n_items)
    annotator = ((start[:, None] + np.arange(VOTES_PER_ITEM) * step[:, None]) % N_ANNOTATORS).ravel()
    annotator = annotator.astype(np.int32)
    item = np.repeat(np.arange(n_items, dtype=np.int32), VOTES_PER_ITEM)

    accuracy = rng.uniform(0.6, 0.95, N_ANNOTATORS)
    accuracy[rng.choice(N_ANNOTATORS, 10, replace=False)] = 0.25  # spammers
    n = item.size
    true_vote = truth[item]
    slip = np.clip(true_vote + rng.choice(np.array([-1, 1], dtype=np.int8), n), 0, 3)
    random_vote = rng.integers(0, 4, n, dtype=np.int8)
    wrong = np.where(rng.random(n) < 0.8, slip, random_vote)
    values = np.where(rng.random(n) < accuracy[annotator], true_vote, wrong).astype(np.int8)
    return item, annotator, values, truth, error_type


def synthetic_marks(seed: int = 1):
    """End frames of 3 annotators per clip: 2-frame jitter, 4 % missed and 2 % extra reps."""
    rng = np.random.default_rng(seed)
    reps = rng.poisson(MEAN_REPS - 1, N_CLIPS) + 1
    clip_of_rep = np.repeat(np.arange(N_CLIPS), reps)
    gaps = rng.integers(30, 90, clip_of_rep.size)
    cum = np.cumsum(gaps)
    first = np.concatenate([[0], np.cumsum(reps)[:-1]])
    truth = cum - np.repeat(cum[first] - gaps[first], reps)  # per-clip cumulative frames
    clip_idx, annotator_idx, frames = [], [], []
    for a in range(3):
        ends = truth + np.rint(rng.normal(0, 2, truth.size)).astype(np.int64)
        keep = np.ones(truth.size, dtype=bool)
        missed = rng.random(N_CLIPS) < 0.04
        keep[first[missed] + rng.integers(0, reps[missed])] = False
        extra = np.flatnonzero(rng.random(N_CLIPS) < 0.02)
        last = first[extra] + reps[extra] - 1
        clip_idx += [clip_of_rep[keep], extra]
        annotator_idx += [np.full(keep.sum(), a), np.full(extra.size, a)]
        frames += [ends[keep], truth[last] + 45]
    return np.concatenate(clip_idx), np.concatenate(annotator_idx), np.concatenate(frames)


def bmm_per_error_type(mean_votes, error_type):
    fallbacks = 0
    scores = np.empty_like(mean_votes)
    for t in range(N_ERROR_TYPES):
        rows = error_type == t
        scores[rows], info = bmm_severity_scores(mean_votes[rows])
        fallbacks += info["fallback_reason"] is not None
    return scores, fallbacks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=900_000)
    parser.add_argument("--ds-iter", type=int, default=10)
    parser.add_argument("--skip-crowdkit", action="store_true")
    args = parser.parse_args()

    print(f"numpy {np.__version__}; items {args.items:,} x {VOTES_PER_ITEM} votes; DS iterations {args.ds_iter}")
    (item, annotator, values, truth, error_type), _ = timed("generate votes", synthetic_votes, args.items)
    print(f"votes {item.size:,}, annotators {N_ANNOTATORS}, error types {N_ERROR_TYPES}")

    summary, t_mv = timed("ours   majority vote (aggregate_votes)", aggregate_votes, item, values, n_items=args.items)
    ds = DawidSkene(max_iter=args.ds_iter, tol=-np.inf)
    _, t_ds = timed("ours   Dawid-Skene", ds.fit, item, annotator, values, n_items=args.items,
                    n_annotators=N_ANNOTATORS)
    (scores, fallbacks), _ = timed("ours   BMM scores, 52 error types", bmm_per_error_type, summary.mean,
                                   error_type)
    agreement, _ = timed("ours   annotator agreement (Kappa0/Kappa1)", annotator_agreement, item, annotator,
                             values, n_items=args.items, n_annotators=N_ANNOTATORS)
    alpha, _ = timed("ours   Krippendorff alpha (ordinal)", krippendorff_alpha_ordinal, item, annotator, values,
                           n_items=args.items, n_annotators=N_ANNOTATORS)
    (clip_idx, ann_idx, frames), _ = timed("generate end marks", synthetic_marks)
    consensus, _ = timed(f"ours   endpoint consensus, {N_CLIPS:,} clips", batch_endpoint_consensus,
                              clip_idx, ann_idx, frames, 30.0, n_clips=N_CLIPS)
    ours_peak = peak_rss_gb()

    print()
    print(f"majority accuracy vs truth      {np.mean(summary.majority == truth):.4f}")
    print(f"Dawid-Skene accuracy vs truth   {np.mean(ds.labels_ == truth):.4f}")
    print(f"BMM fallbacks                   {fallbacks} / {N_ERROR_TYPES}; "
          f"median score class 0 / 3: {np.median(scores[truth == 0]):.3f} / {np.median(scores[truth == 3]):.3f}")
    print(f"annotator Kappa0 / Kappa1       {agreement.mean_kappa0:.3f} / {agreement.mean_kappa1:.3f}; "
          f"alpha {alpha:.3f}")
    reasons, counts = np.unique(consensus.reason, return_counts=True)
    print(f"consensus marks {frames.size:,}; reasons "
          + ", ".join(f"{r or 'agree'}: {c:,}" for r, c in zip(reasons, counts)))
    print(f"peak RSS after our stages       {ours_peak:.2f} GB")

    if args.skip_crowdkit:
        return
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CKDawidSkene
    from crowdkit.aggregation import MajorityVote

    print()
    data = pd.DataFrame({"task": item.astype(np.int64), "worker": annotator.astype(np.int64),
                         "label": values.astype(np.int64)})
    del item, annotator, values
    ck_mv, t_ck_mv = timed("crowd-kit MajorityVote", MajorityVote().fit_predict, data)
    ck_mv = ck_mv.sort_index().to_numpy()
    ck_ds, t_ck_ds = timed("crowd-kit DawidSkene", CKDawidSkene(n_iter=args.ds_iter, tol=-np.inf).fit_predict, data)
    ck_ds = ck_ds.sort_index().to_numpy()

    print()
    for name, ours, theirs, goal, differ in (
        ("majority vote", t_mv, t_ck_mv, 20, np.count_nonzero(ck_mv != summary.majority)),
        ("Dawid-Skene", t_ds, t_ck_ds, 10, np.count_nonzero(ck_ds != ds.labels_)),
    ):
        print(f"{name + ':':<15s}{theirs[0] / ours[0]:6.1f}x faster wall, {theirs[1] / ours[1]:6.1f}x CPU "
              f"(goal >= {goal}x); labels differ on {differ:,} items")
    print(f"peak RSS overall (with crowd-kit) {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
