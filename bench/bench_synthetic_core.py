"""Benchmark of the synthetic Halo Trainer generator at full scale (seed 000 sizes).

Run: ``python bench/bench_synthetic_core.py [--clips 84608] [--seed 0]``

Prints wall time of `generate_halo`, array sizes against the paper's totals, peak RSS, the time of
`clip_pose` on long clips, and the annotators' Kappa1 against truth and against the leave-one-out
majority (as the platform measures it) next to the Table 9 values.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets.core.synthetic import generate_halo  # noqa: E402
from datasets.core.synthetic.annotators import kappa_tolerant  # noqa: E402
from datasets.core.synthetic.halo_catalog import HALO_N_REPETITIONS  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _kappa1_vs_truth(ds) -> np.ndarray:
    """Per error type: Kappa1 of all votes pooled against the true severity."""
    n_err = len(ds.error_types)
    err = ds.item_error_type[ds.vote_item].astype(np.int64)
    true = ds.item_true_severity[ds.vote_item].astype(np.int64)
    table = np.bincount(err * 16 + true * 4 + ds.vote_value, minlength=n_err * 16)
    return kappa_tolerant(table.reshape(n_err, 4, 4), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=84_608)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    ds = generate_halo(n_clips=args.clips, seed=args.seed)
    wall = time.perf_counter() - t0
    rss_after = _peak_rss_mb()

    arrays = {k: v for k, v in vars(ds).items() if isinstance(v, np.ndarray)}
    nbytes = sum(v.nbytes for v in arrays.values())
    scale = 84_608 / args.clips
    print(f"generate_halo(n_clips={args.clips}, seed={args.seed})")
    print(f"  wall time            {wall:8.2f} s")
    print(f"  peak RSS             {rss_after:8.0f} MiB (before: {rss_before:.0f} MiB)")
    print(f"  arrays held          {nbytes / 2**20:8.0f} MiB")
    print(f"  participants         {ds.participant_skill.size:10,d}   (paper 1,642)")
    print(f"  clips                {ds.n_clips:10,d}   (paper 84,608)")
    print(f"  repetitions          {ds.n_reps:10,d}   (paper {HALO_N_REPETITIONS:,d}; "
          f"ratio {ds.n_reps * scale / HALO_N_REPETITIONS:.4f} at full scale)")
    print(f"  items                {ds.n_items:10,d}   (brief ~900,000; Table 6 total 986,010)")
    print(f"  votes                {ds.n_votes:10,d}   (brief ~9,000,000; ratio "
          f"{ds.n_votes * scale / 9e6:.4f})")
    print(f"  end-point marks      {ds.mark_clip.size:10,d}   (3 x reps = {3 * ds.n_reps:,d})")
    print(f"  annotators           {ds.annotator_kind.size:10,d}   "
          f"({int((ds.annotator_kind == 0).sum())} end-point, {int((ds.annotator_kind == 1).sum())} voters)")
    mean_s = ds.clip_n_frames.mean() / ds.fps
    print(f"  clip duration        {mean_s:8.1f} +/- {ds.clip_n_frames.std() / ds.fps:.1f} s "
          f"(paper 40.7 +/- 11.9), max {ds.clip_n_frames.max()} frames")
    counts = np.bincount(ds.rep_clip, minlength=ds.n_clips)
    print(f"  reps per clip        {counts.mean():8.1f} +/- {counts.std():.1f} (paper 13.7 +/- 9.6)")

    # clip_pose on the longest clips (the brief: < 50 ms for 2,500 frames)
    longest = np.argsort(ds.clip_n_frames)[-20:]
    times = []
    for clip in longest:
        t = time.perf_counter()
        ds.clip_pose(int(clip))
        times.append(time.perf_counter() - t)
    print(f"  clip_pose            {1000 * np.median(times):8.1f} ms median, "
          f"{1000 * max(times):.1f} ms max over the 20 longest clips "
          f"({ds.clip_n_frames[longest].min()}..{ds.clip_n_frames[longest].max()} frames)")

    k_truth = _kappa1_vs_truth(ds)
    try:
        from annotation.core.agreement import annotator_agreement  # the platform's measure
    except Exception:  # noqa: BLE001 - optional cross-check, the bench must run without it
        annotator_agreement = None
    print("\n  annotators' Kappa1 per error type: calibrated | vs truth (pooled) | vs LOO majority "
          "(pooled) | Table 9 target / 0.85")
    for e, (ex, spec) in enumerate(ds.error_types):
        loo = float("nan")
        if annotator_agreement is not None:
            items = np.nonzero(ds.item_error_type == e)[0]
            sel = np.isin(ds.vote_item, items)
            item_local = np.searchsorted(items, ds.vote_item[sel])
            summary = annotator_agreement(
                item_local, ds.vote_annotator[sel], ds.vote_value[sel],
                n_items=items.size, n_annotators=ds.annotator_kind.size,
            )
            loo = summary.pooled_kappa1
        paper = "NA" if spec.kappa1_target is None else f"{spec.kappa1_target / 0.85:.3f}"
        calibrated = ds.error_type_params[e]["annotator_kappa1"]
        print(f"    {spec.code:70s} {calibrated:.3f} | {k_truth[e]:.3f} | {loo:.3f} | {paper}")
    print(f"\n  peak RSS at the end  {_peak_rss_mb():8.0f} MiB")


if __name__ == "__main__":
    main()
