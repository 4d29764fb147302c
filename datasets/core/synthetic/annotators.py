"""Simulated annotators: repetition end-point markers and severity voters.

Halo Trainer (seed 000, Sec. 3 and 5.1): every repetition end point is marked by 3 annotators
(ground truth = their average; clips where they disagree are left out of evaluation), and every
(repetition, error type) gets severity votes 0..3 from 10 annotators. Table 9 sets the target for
a model at 85 % of the annotators' own Kappa1 (Cohen's kappa with +/-1 tolerance).

End-point annotators
    Each has a jitter sd (frames) and a bias (frames, early < 0 < late): a mark lands at
    ``round(true_end + bias + jitter_sd * z)``, clipped into the clip. With ``miss_rate`` a
    repetition goes unmarked; ``extra_rate`` extra marks per repetition (Poisson) fall anywhere
    in the clip (a twitch counted as a repetition).
Severity voters
    Each has a bias (severity levels), a noise sd and a lapse rate. For an error type of
    difficulty ``d`` a vote is ``clip(round(true + bias + noise_sd * d * z), 0, 3)``, replaced by a
    uniform class with probability ``lapse_rate * min(d, 1)``. `vote_confusion` gives the exact
    confusion matrix of that process. ``d`` is calibrated per error type
    (`calibrate_difficulty`) so that the voters' pooled Kappa1 against the truth equals the
    annotators' Kappa1 implied by Table 9 (target / 0.85).

Panels of distinct annotators are drawn with the Gumbel top-k trick, weighted by each annotator's
activity, so some annotators label more than others.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = [
    "assign_panels",
    "calibrate_difficulty",
    "draw_endpoint_annotators",
    "draw_voters",
    "expected_kappa1",
    "kappa_tolerant",
    "simulate_marks",
    "simulate_votes",
    "vote_confusion",
]

N_CLASSES = 4
_CLASSES = np.arange(N_CLASSES)
_TOL1 = (np.abs(_CLASSES[:, None] - _CLASSES[None, :]) <= 1).astype(np.float64)


def draw_endpoint_annotators(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Reliability parameters of ``n`` end-point annotators (hidden truth).

    About 1 in 12 is sloppy: twice the jitter and five times the misses.
    """
    sloppy = rng.random(n) < 1.0 / 12.0
    jitter = np.exp(rng.normal(np.log(2.2), 0.35, n)) * np.where(sloppy, 2.0, 1.0)
    return {
        "jitter_sd_frames": np.clip(jitter, 0.8, 7.0),
        "bias_frames": rng.normal(0.0, 1.0, n),
        "miss_rate": rng.beta(1.0, 500.0, n) * np.where(sloppy, 5.0, 1.0),
        "extra_rate": rng.beta(1.0, 800.0, n),
        "activity": np.exp(rng.normal(0.0, 0.5, n)),
        "sloppy": sloppy,
    }


def draw_voters(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Reliability parameters of ``n`` severity voters (hidden truth).

    About 1 in 16 is careless: a tenth of their votes are random and their noise is 1.8x.
    """
    careless = rng.random(n) < 1.0 / 16.0
    return {
        "bias": rng.normal(0.0, 0.2, n),
        "noise_sd": np.exp(rng.normal(np.log(0.45), 0.3, n)) * np.where(careless, 1.8, 1.0),
        "lapse_rate": np.where(careless, 0.1, rng.beta(1.0, 80.0, n)),
        "activity": np.exp(rng.normal(0.0, 0.5, n)),
        "careless": careless,
    }


def assign_panels(rng: np.random.Generator, n_tasks: int, activity: np.ndarray, k: int,
                  *, chunk: int = 200_000) -> np.ndarray:
    """Draw ``k`` distinct annotators per task, with probability growing with ``activity``.

    Gumbel top-k: the k largest of ``log(activity) + Gumbel`` are a weighted sample without
    replacement. Returns (n_tasks, k) int32, each row sorted.
    """
    n = activity.size
    if k > n:
        raise ValueError(f"cannot draw {k} distinct annotators from a pool of {n}")
    log_w = np.log(activity).astype(np.float32)
    out = np.empty((n_tasks, k), dtype=np.int32)
    for lo in range(0, n_tasks, chunk):
        hi = min(lo + chunk, n_tasks)
        keys = log_w - np.log(-np.log(rng.random((hi - lo, n), dtype=np.float32) + 1e-12))
        if k < n:
            top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(n), (hi - lo, n))
        out[lo:hi] = np.sort(top, axis=1)
    return out


def simulate_marks(
    rng: np.random.Generator,
    *,
    clip_n_frames: np.ndarray,
    rep_clip: np.ndarray,
    rep_true_end: np.ndarray,
    panels: np.ndarray,
    params: dict[str, np.ndarray],
    annotator_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """End-point marks of every panel annotator on every clip, vectorised over repetitions.

    Parameters
    ----------
    clip_n_frames : (n_clips,) int
    rep_clip, rep_true_end : (n_reps,) int
    panels : (n_clips, k) int
        Pool positions of the k annotators of each clip.
    params : dict
        From `draw_endpoint_annotators`.
    annotator_offset : int
        Added to pool positions to give dataset annotator indices.

    Returns
    -------
    mark_clip, mark_annotator, mark_frame : int32 arrays, sorted by (clip, annotator, frame),
        without duplicate (clip, annotator, frame).
    """
    n_clips, k = panels.shape
    n_frames = clip_n_frames.astype(np.int64)
    who = panels[rep_clip]  # (n_reps, k)
    z = rng.standard_normal(who.shape, dtype=np.float32)
    frame = rep_true_end[:, None] + np.rint(
        params["bias_frames"][who] + params["jitter_sd_frames"][who] * z
    )
    frame = np.clip(frame, 0, n_frames[rep_clip][:, None] - 1).astype(np.int64)
    kept = rng.random(who.shape, dtype=np.float32) >= params["miss_rate"][who]
    # An annotator who marked nothing on a clip leaves no trace of having annotated it; keep
    # their first mark so every clip shows its k annotators.
    slot_of = (rep_clip[:, None].astype(np.int64) * k + np.arange(k)).ravel()
    n_kept = np.bincount(slot_of, weights=kept.ravel(), minlength=n_clips * k)
    empty_clip, empty_slot = np.divmod(np.nonzero(n_kept == 0)[0], k)
    first_rep = np.searchsorted(rep_clip, empty_clip)
    has_rep = first_rep < rep_clip.size
    kept[first_rep[has_rep], empty_slot[has_rep]] = True
    clip_of = np.broadcast_to(rep_clip[:, None], who.shape)

    reps_per_clip = np.bincount(rep_clip, minlength=n_clips)
    n_extra = rng.poisson(params["extra_rate"][panels] * reps_per_clip[:, None])  # (n_clips, k)
    extra_clip = np.repeat(np.repeat(np.arange(n_clips), k), n_extra.ravel())
    extra_who = np.repeat(panels.ravel(), n_extra.ravel())
    extra_frame = np.floor(rng.random(extra_clip.size) * n_frames[extra_clip]).astype(np.int64)

    clip_all = np.concatenate([clip_of[kept], extra_clip]).astype(np.int64)
    who_all = np.concatenate([who[kept], extra_who]).astype(np.int64)
    frame_all = np.concatenate([frame[kept], extra_frame])
    order = np.lexsort((frame_all, who_all, clip_all))
    clip_all, who_all, frame_all = clip_all[order], who_all[order], frame_all[order]
    # Two marks of one annotator on one frame are one mark.
    keep = np.ones(clip_all.size, dtype=bool)
    keep[1:] = (
        (clip_all[1:] != clip_all[:-1]) | (who_all[1:] != who_all[:-1])
        | (frame_all[1:] != frame_all[:-1])
    )
    return (
        clip_all[keep].astype(np.int32),
        (who_all[keep] + annotator_offset).astype(np.int32),
        frame_all[keep].astype(np.int32),
    )


def vote_confusion(bias, noise_sd, lapse_rate, difficulty) -> np.ndarray:
    """P(vote = k | true = t) of the voter model, shape broadcast(...) + (4, 4).

    Parameters are broadcast against each other: per-voter arrays against a per-error-type
    difficulty give every (voter, error type) matrix at once.
    """
    bias, noise, lapse, d = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (bias, noise_sd, lapse_rate, difficulty))
    )
    sigma = np.maximum(noise * d, 1e-9)[..., None, None]
    centre = (_CLASSES[:, None] + bias[..., None, None])  # (..., t, 1)
    upper = np.where(_CLASSES < N_CLASSES - 1, _CLASSES + 0.5, np.inf)
    lower = np.where(_CLASSES > 0, _CLASSES - 0.5, -np.inf)
    conf = ndtr((upper - centre) / sigma) - ndtr((lower - centre) / sigma)
    eff_lapse = (lapse * np.minimum(d, 1.0))[..., None, None]
    return (1.0 - eff_lapse) * conf + eff_lapse / N_CLASSES


def kappa_tolerant(confusion: np.ndarray, tolerance: int = 1) -> np.ndarray:
    """Cohen's kappa of joint count/probability tables (..., K, K) with an ordinal tolerance.

    ``tolerance=1`` is Halo Trainer's Kappa1 (seed 000, Sec. 6.2): agreement means the two
    classes differ by at most one level, and chance agreement uses the same rule on the product
    of the marginals.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    k = confusion.shape[-1]
    cls = np.arange(k)
    mask = (np.abs(cls[:, None] - cls[None, :]) <= tolerance).astype(np.float64)
    total = confusion.sum(axis=(-2, -1))
    joint = confusion / total[..., None, None]
    p = joint.sum(axis=-1)
    q = joint.sum(axis=-2)
    observed = (joint * mask).sum(axis=(-2, -1))
    expected = np.einsum("...i,ij,...j->...", p, mask, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (observed - expected) / (1.0 - expected)


def expected_kappa1(class_probs: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Expected Kappa1 of votes against the truth: ``class_probs`` (4,), confusion (..., 4, 4)."""
    joint = class_probs[:, None] * confusion
    return kappa_tolerant(joint, 1)


def calibrate_difficulty(
    class_probs: np.ndarray,
    target_kappa1: np.ndarray,
    voters: dict[str, np.ndarray],
    *,
    grid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-error-type difficulty so the voters' Kappa1 vs truth meets its target.

    The Kappa1 is that of all votes of the error type pooled against the truth, i.e. of the
    activity-weighted mean confusion matrix of the voters.

    Parameters
    ----------
    class_probs : (n_error_types, 4)
        True severity class frequencies (Table 6 proportions).
    target_kappa1 : (n_error_types,)
    voters : dict
        From `draw_voters`; voters are weighted by activity (their expected share of votes).
    grid : ndarray, optional
        Increasing difficulties to search; the answer is interpolated between grid points.

    Returns
    -------
    difficulty, achieved : (n_error_types,) arrays
        The difficulty and the expected pooled Kappa1 it gives (equal to the target unless the
        target is out of reach, e.g. when a class frequency makes chance agreement total).
    """
    grid = np.concatenate([[0.0], np.geomspace(0.02, 12.0, 240)]) if grid is None else grid
    weights = voters["activity"] / voters["activity"].sum()
    conf = vote_confusion(
        voters["bias"][None, :], voters["noise_sd"][None, :], voters["lapse_rate"][None, :],
        grid[:, None],
    )  # (G, V, 4, 4)
    n_err = class_probs.shape[0]
    difficulty = np.zeros(n_err)
    achieved = np.zeros(n_err)
    pooled = np.einsum("gvtk,v->gtk", conf, weights)  # the activity-weighted confusion
    for e in range(n_err):
        kappa = np.nan_to_num(expected_kappa1(class_probs[e], pooled), nan=1.0)  # (G,)
        # Kappa falls with difficulty; take the first grid crossing and interpolate.
        below = np.nonzero(kappa <= target_kappa1[e])[0]
        if below.size == 0:
            difficulty[e], achieved[e] = grid[-1], kappa[-1]
            continue
        j = below[0]
        if j == 0:
            difficulty[e], achieved[e] = grid[0], kappa[0]
            continue
        k0, k1 = kappa[j - 1], kappa[j]
        w = 0.0 if k0 == k1 else (k0 - target_kappa1[e]) / (k0 - k1)
        difficulty[e] = grid[j - 1] + w * (grid[j] - grid[j - 1])
        c = vote_confusion(voters["bias"], voters["noise_sd"], voters["lapse_rate"], difficulty[e])
        achieved[e] = np.nan_to_num(
            expected_kappa1(class_probs[e], np.einsum("vtk,v->tk", c, weights)), nan=1.0
        )
    return difficulty, achieved


def simulate_votes(
    rng: np.random.Generator,
    *,
    true_severity: np.ndarray,
    item_error: np.ndarray,
    item_panel: np.ndarray,
    voters: dict[str, np.ndarray],
    difficulty: np.ndarray,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Votes of each item's panel: (n_items, k) int8, vectorised over votes in chunks of items.

    Parameters
    ----------
    true_severity : (n_items,) int
    item_error : (n_items,) int
        Error-type index of each item (selects its difficulty).
    item_panel : (n_items, k) int
        Pool positions of the voters of each item.
    voters : dict
        From `draw_voters`.
    difficulty : (n_error_types,)
    """
    n_items, k = item_panel.shape
    out = np.empty((n_items, k), dtype=np.int8)
    bias = voters["bias"].astype(np.float32)
    noise = voters["noise_sd"].astype(np.float32)
    lapse = voters["lapse_rate"].astype(np.float32)
    diff = difficulty.astype(np.float32)
    step = max(1, chunk // max(k, 1))
    for lo in range(0, n_items, step):
        hi = min(lo + step, n_items)
        v = item_panel[lo:hi]
        d = diff[item_error[lo:hi]][:, None]
        z = rng.standard_normal(v.shape, dtype=np.float32)
        x = true_severity[lo:hi, None].astype(np.float32) + bias[v] + noise[v] * d * z
        vote = np.clip(np.rint(x), 0, N_CLASSES - 1).astype(np.int8)
        lapsed = rng.random(v.shape, dtype=np.float32) < lapse[v] * np.minimum(d, 1.0)
        random_vote = rng.integers(0, N_CLASSES, size=v.shape, dtype=np.int8)
        out[lo:hi] = np.where(lapsed, random_vote, vote)
    return out
