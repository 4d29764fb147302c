"""Benchmark: participant-disjoint stratified splitting and the Halo threshold search.

Run: ``python bench/bench_splitting_core.py`` (from the repository root). Prints the figures
recorded in ``bench/splitting_core.md``.

- ``split_by_group`` on Halo Trainer's size (seed 000: 84,608 clips, 1,642 participants,
  47 exercises), with the clip's severity class and the participant's skill as extra strata;
  with and without a zero/few-shot hold-out of 4 exercises (seed 000 §6.4 holds out four).
  References in the same process: a random participant shuffle (max deviation only) and
  scikit-learn's ``StratifiedGroupKFold`` with 20 folds merged 14/3/3 into 0.7/0.15/0.15.
- ``search_thresholds`` on 100,000 scores, against the uniform-quantile thresholds.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datasets.core.splitting import check_disjoint, split_balance, split_by_group  # noqa: E402
from tasks.core.thresholds import apply_thresholds, search_thresholds, threshold_objective  # noqa: E402

N_CLIPS, N_GROUPS, N_EXERCISES = 84_608, 1_642, 47
RATIOS = (0.7, 0.15, 0.15)
HOLDOUT = (3, 17, 29, 41)


def halo_like(seed: int = 0):
    """Halo-sized clips: heavy-tailed clips per participant, personal exercise mixes, skill-dependent
    severity classes (roughly the sev0..sev3 shares of seed 000 Table 6)."""
    rng = np.random.default_rng(seed)
    weight = rng.lognormal(0.0, 0.6, N_GROUPS)
    per_group = rng.multinomial(N_CLIPS - N_GROUPS, weight / weight.sum()) + 1
    group = np.repeat(np.arange(N_GROUPS), per_group)
    skill = rng.choice(3, size=N_GROUPS, p=[0.3, 0.5, 0.2])
    popularity = rng.dirichlet(np.full(N_EXERCISES, 2.0))
    exercise = np.concatenate([
        rng.choice(N_EXERCISES, size=k, p=rng.dirichlet(popularity * 20.0)) for k in per_group])
    severity_p = np.array([[0.40, 0.30, 0.20, 0.10], [0.55, 0.25, 0.15, 0.05], [0.75, 0.15, 0.08, 0.02]])
    severity = (rng.random(N_CLIPS)[:, None] > np.cumsum(severity_p[skill[group]], axis=1)).sum(axis=1)
    return group, exercise, severity, skill


def shuffle_split(group: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(group.max() + 1)
    filled = np.cumsum(np.bincount(group)[perm]) / group.size
    cut = np.searchsorted(np.cumsum(RATIOS)[:2], filled, side="left")
    split_of = np.empty(group.max() + 1, dtype=np.int8)
    split_of[perm] = cut
    return split_of[group]


def sgkf_split(group: np.ndarray, exercise: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    fold = np.empty(group.size, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=20, shuffle=True, random_state=seed)
    for f, (_, test_idx) in enumerate(splitter.split(np.zeros(group.size), exercise, group)):
        fold[test_idx] = f
    return np.select([fold < 14, fold < 17], [0, 1], 2).astype(np.int8)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_split() -> None:
    group, exercise, severity, skill = halo_like()
    strata = dict(clip_group=group, clip_exercise=exercise, clip_strata=severity, group_strata=skill)
    print(f"split_by_group: {N_CLIPS} clips, {N_GROUPS} participants, {N_EXERCISES} exercises, "
          f"strata = exercise + severity class (4) + skill (3), ratios {RATIOS}")
    split_by_group(**strata)  # warm-up (imports, BLAS threads)
    rows = [
        ("stratified", {}),
        ("zero-shot 4 ex", {"holdout_exercises": HOLDOUT}),
        ("few-shot 4 ex, k=10", {"holdout_exercises": HOLDOUT, "few_shot_k": 10}),
        ("few-shot 4 ex, k=200", {"holdout_exercises": HOLDOUT, "few_shot_k": 200}),
        ("zero-shot, mixed->test", {"holdout_exercises": HOLDOUT, "mixed_holdout": "test"}),
    ]
    for name, kwargs in rows:
        times, devs, size_devs = [], [], []
        for seed in range(3):
            result, seconds = timed(split_by_group, seed=seed, **strata, **kwargs)
            assert check_disjoint(group, result.assignment) == []
            times.append(seconds)
            devs.append(result.max_deviation)
            size_devs.append(result.size_deviation)
        print(f"  {name:<22} seconds {np.mean(times):.3f} (max {np.max(times):.3f})  "
              f"max_deviation {np.mean(devs):.5f}  size_deviation {np.mean(size_devs):.5f}  "
              f"clips {result.counts['clips']}  participants {result.counts['groups']}")
    shuffle_devs = [split_balance(assignment=shuffle_split(group, s), ratios=RATIOS, **strata)[1]
                    for s in range(3)]
    print(f"  {'random shuffle (ref)':<22} max_deviation {np.mean(shuffle_devs):.5f}")
    strat_devs = [split_by_group(seed=s, **strata).max_deviation for s in range(3)]
    print(f"  ratio random / stratified max_deviation: {np.mean(shuffle_devs) / np.mean(strat_devs):.1f}x")

    # StratifiedGroupKFold stratifies on one label only: compare on exercise alone.
    ex_only = dict(clip_group=group, clip_exercise=exercise)
    sgkf, sgkf_seconds = timed(sgkf_split, group, exercise, 0)
    ours, ours_seconds = timed(split_by_group, seed=0, **ex_only)
    sgkf_dev = split_balance(assignment=sgkf, ratios=RATIOS, **ex_only)[1]
    print(f"  exercise only: split_by_group {ours_seconds:.3f} s, max_deviation {ours.max_deviation:.5f}; "
          f"StratifiedGroupKFold(20 -> 14/3/3) {sgkf_seconds:.3f} s, max_deviation {sgkf_dev:.5f} "
          f"(time ratio {sgkf_seconds / ours_seconds:.1f}x)")


def bench_thresholds() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    y = rng.choice(4, size=n, p=[0.60, 0.20, 0.15, 0.05])
    scores = np.clip((y + rng.normal(0.0, 0.6, n)) / 3.5 + 0.05, 0.0, 1.0)
    search_thresholds(scores[:1000], y[:1000])  # warm-up
    times = []
    for _ in range(3):
        (thresholds, value), seconds = timed(search_thresholds, scores, y)
        times.append(seconds)
    quantiles = np.quantile(scores, [0.25, 0.5, 0.75])
    print(f"search_thresholds: {n} scores, 4 classes: seconds {np.mean(times):.3f} (max {np.max(times):.3f})")
    print(f"  thresholds {np.round(thresholds, 4).tolist()}  objective {value:.4f}  "
          f"(uniform-quantile thresholds: {threshold_objective(scores, y, quantiles):.4f}; "
          f"classes agree with truth on {np.mean(apply_thresholds(scores, thresholds) == y):.3f})")


if __name__ == "__main__":
    bench_split()
    bench_thresholds()
