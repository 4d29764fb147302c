"""Participant-disjoint, stratified train/val/test splits, with zero- and few-shot holdouts.

Halo Trainer (seed 000, §3) splits "based on unique participant IDs, ensuring that no participant
is present in multiple splits", and evaluates zero-shot generalisation on exercises held out of
training and few-shot fine-tuning on 10-200 clips of them (§6.4). This module computes such a
split from plain arrays; ``splitting.md`` beside it describes the algorithm and the rules.

No Django import: services load the clip arrays in bulk, call :func:`split_by_group` and write
the assignment in one transaction.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

SPLIT_NAMES = ("train", "val", "test")
TRAIN, VAL, TEST = 0, 1, 2
#: Assignment code of a clip that is in no split (a held-out exercise's clip of a participant who
#: is not in test, or a few-shot donor's clip beyond the k shots).
EXCLUDED = -1

MIXED_POLICIES = ("drop", "test")

# Relative weight of each kind of term in the cost. Every stratum level counts once, as the
# squared gap between a split's proportion and the whole's; the two size terms keep each split's
# share of clips and of participants on its ratio. All are in the same unit (a share), so equal
# weights need no tuning per dataset.
_SIZE_WEIGHT = 1.0
_STRATUM_WEIGHT = 1.0
# Upper bound on local-search rounds (~10 ms each at Halo size). Halo-sized data reaches a local
# optimum in a few dozen rounds; the cap only bounds the run time.
_LOCAL_SEARCH_ROUNDS = 100
# Candidate moves/swaps per kind taken from each local-search round (each re-checked exactly).
_CANDIDATES_PER_ROUND = 32


@dataclass(frozen=True)
class SplitResult:
    """Outcome of :func:`split_by_group`.

    Attributes
    ----------
    assignment : ndarray of int8, shape (n_clips,)
        0 train, 1 val, 2 test, -1 excluded (see :data:`EXCLUDED`).
    proportions : dict
        ``proportions[split][variable][level] -> share`` of the split's clips, over the
        stratified pool (clips of non-held-out exercises). ``split`` runs over
        ``"train"``, ``"val"``, ``"test"`` and ``"all"`` (the reference distribution).
        Variables are ``"exercise"``, ``"clip_stratum_<j>"`` and ``"group_stratum_<j>"``.
    max_deviation : float
        Largest ``|proportions[split][var][level] - proportions["all"][var][level]|`` over all
        splits with a non-zero ratio, variables and levels, in absolute proportion units.
    counts : dict
        ``counts[kind][split or "excluded"] -> int`` for kind ``"clips"`` (all clips),
        ``"pool_clips"`` (non-held-out), ``"holdout_clips"`` and ``"groups"`` (participants;
        a participant all of whose clips are excluded counts as excluded).
    size_deviation : float
        Largest ``|achieved clip share - ratio|`` of a split, over the stratified pool.
    group_assignment : dict
        Participant id -> split code (0, 1, 2).
    """

    assignment: np.ndarray
    proportions: dict
    max_deviation: float
    counts: dict
    size_deviation: float = 0.0
    group_assignment: dict = field(default_factory=dict)


def split_by_group(
    *,
    clip_group: np.ndarray,
    clip_exercise: np.ndarray,
    clip_strata: np.ndarray | None = None,
    group_strata: np.ndarray | None = None,
    ratios: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    holdout_exercises: Iterable[Any] = (),
    few_shot_k: int = 0,
    mixed_holdout: str = "drop",
) -> SplitResult:
    """Split clips into train/val/test so that no participant is in two splits.

    Participants are assigned whole, one at a time in a seeded random order, each to the split
    where it most lowers the squared gap between the split's proportions and the whole pool's
    (exercise, every clip stratum, every group stratum) and between the split's shares of clips
    and participants and its ratio. This is iterative stratification (Sechidis et al. 2011) with
    participants as the unit, as in scikit-learn's ``StratifiedGroupKFold``, generalised to
    unequal ratios and several stratum variables at once. A local search of participant moves
    and swaps then lowers the same cost until no single move or swap helps.

    Parameters
    ----------
    clip_group : array of int, shape (n_clips,)
        Participant index of each clip (non-negative).
    clip_exercise : array, shape (n_clips,)
        Exercise of each clip (any sortable labels).
    clip_strata : array, shape (n_clips,) or (n_clips, k), optional
        Extra categorical strata per clip, e.g. the clip's majority severity class.
    group_strata : array, shape (n_groups,) or (n_groups, m), optional
        Categorical strata per participant, indexed by participant index, e.g. skill level.
        Balanced and reported over clips (a participant weighs by its clip count), because the
        models see clips.
    ratios : (train, val, test)
        Non-negative and summing to 1 (within 1e-6). They apply to the stratified pool, i.e. the
        clips of exercises that are not held out.
    seed : int
        Seeds the greedy order and the few-shot draw. Same inputs and seed, same split.
    holdout_exercises : iterable
        Exercises for zero-shot evaluation: their clips go to test only (seed 000, §6.4).
        A participant with only held-out clips goes to test. A participant with both kinds is
        stratified on its other clips; see ``mixed_holdout`` for its held-out clips.
    few_shot_k : int
        Number of clips per held-out exercise moved into train (seed 000 uses 10-200). They are
        taken from as few participants as possible ("donors"), who are then wholly in train;
        a donor's other held-out clips are excluded.
    mixed_holdout : {"drop", "test"}
        For a participant with held-out and other clips. ``"drop"`` (default): the participant
        is stratified like any other; if it lands in test its held-out clips go with it, else
        they are excluded (-1). ``"test"``: the participant goes wholly to test. ``"test"``
        keeps every held-out clip but, when most participants did most exercises (Halo: ~52
        clips each over 47 exercises), it puts nearly everyone in test.

    Returns
    -------
    SplitResult

    Raises
    ------
    ValueError
        On malformed arrays, ratios that are negative or do not sum to 1, held-out exercises that
        do not occur, a hold-out of every exercise, a hold-out with a zero test ratio, a
        few-shot k with a zero train ratio, or a held-out exercise left with no test clip (e.g.
        a few-shot k that takes them all).
    """
    ratios_arr = _check_ratios(ratios)
    if mixed_holdout not in MIXED_POLICIES:
        raise ValueError(f"mixed_holdout must be one of {MIXED_POLICIES}, got {mixed_holdout!r}.")
    if isinstance(few_shot_k, bool) or not isinstance(few_shot_k, (int, np.integer)) or few_shot_k < 0:
        raise ValueError(f"few_shot_k must be a non-negative integer, got {few_shot_k!r}.")
    groups, exercise, clip_strata_2d, group_strata_2d = _check_arrays(
        clip_group, clip_exercise, clip_strata, group_strata)
    n_clips = groups.shape[0]
    rng = np.random.default_rng(seed)

    group_ids, g_of_clip = np.unique(groups, return_inverse=True)
    n_groups = group_ids.shape[0]
    hold = _holdout_mask(exercise, holdout_exercises)
    if hold.any() and ratios_arr[TEST] == 0:
        raise ValueError("holdout_exercises need a test split, but the test ratio is 0.")
    if few_shot_k and not hold.any():
        raise ValueError("few_shot_k > 0 needs holdout_exercises.")
    if few_shot_k and ratios_arr[TRAIN] == 0:
        raise ValueError("few_shot_k > 0 moves clips into train, but the train ratio is 0.")

    pool = ~hold
    n_pool = np.bincount(g_of_clip[pool], minlength=n_groups)
    n_hold = np.bincount(g_of_clip[hold], minlength=n_groups)

    # forced[g] is the split a participant must go to, or -1 if the stratifier decides.
    forced = np.full(n_groups, -1, dtype=np.int8)
    shot = np.zeros(n_clips, dtype=bool)
    if few_shot_k:
        donors, shot = _draw_few_shot(g_of_clip, exercise, hold, n_hold, few_shot_k, rng)
        forced[donors] = TRAIN
    only_hold = (n_pool == 0) & (n_hold > 0)
    forced[only_hold & (forced < 0)] = TEST
    if mixed_holdout == "test":
        forced[(n_pool > 0) & (n_hold > 0) & (forced < 0)] = TEST

    features, weights, units = _pool_features(
        g_of_clip, exercise, clip_strata_2d, group_strata_2d, group_ids, pool, n_pool)
    group_split = _greedy_assign(features, weights, units, ratios_arr, forced, n_pool, rng)

    assignment = group_split[g_of_clip].astype(np.int8)
    # Zero-shot rule: a held-out clip is in test with its participant, in train as a few-shot
    # shot, or nowhere.
    held_not_test = hold & (assignment != TEST)
    assignment[held_not_test & ~shot] = EXCLUDED
    if hold.any():
        _check_holdout_reaches_test(exercise, hold, assignment)

    proportions, max_dev = split_balance(
        assignment=assignment, clip_group=groups, clip_exercise=exercise,
        clip_strata=clip_strata_2d, group_strata=group_strata_2d, pool=pool, ratios=ratios_arr)
    counts = _counts(assignment, g_of_clip, hold, n_groups)
    pool_sizes = np.array([counts["pool_clips"][name] for name in SPLIT_NAMES], dtype=float)
    size_dev = float(np.max(np.abs(pool_sizes / max(pool_sizes.sum(), 1.0) - ratios_arr)))
    return SplitResult(
        assignment=assignment,
        proportions=proportions,
        max_deviation=max_dev,
        counts=counts,
        size_deviation=size_dev,
        group_assignment={_py(g): int(s) for g, s in zip(group_ids, group_split)},
    )


def split_balance(
    *,
    assignment: np.ndarray,
    clip_group: np.ndarray,
    clip_exercise: np.ndarray,
    clip_strata: np.ndarray | None = None,
    group_strata: np.ndarray | None = None,
    pool: np.ndarray | None = None,
    ratios: Sequence[float] | None = None,
) -> tuple[dict, float]:
    """Per-split stratum proportions of any assignment, and their largest gap to the whole.

    Used by :func:`split_by_group` and to score other splits (a random shuffle, an imported
    split) on the same scale.

    Parameters
    ----------
    assignment : array of int, shape (n_clips,)
        Split code per clip; -1 (excluded) clips are ignored.
    clip_group, clip_exercise, clip_strata, group_strata
        As in :func:`split_by_group`.
    pool : array of bool, shape (n_clips,), optional
        Clips that count (default: all). :func:`split_by_group` passes the non-held-out clips.
    ratios : (train, val, test), optional
        Splits with a zero ratio are left out of the maximum. Default: every non-empty split.

    Returns
    -------
    proportions : dict
        As :attr:`SplitResult.proportions`.
    max_deviation : float
        As :attr:`SplitResult.max_deviation`. An empty split with a non-zero ratio counts as
        all-zero proportions.
    """
    # intp, not the int8 of an assignment: split * n_levels + level must not overflow.
    assignment = np.asarray(assignment).astype(np.intp)
    groups, exercise, cs, gs = _check_arrays(clip_group, clip_exercise, clip_strata, group_strata)
    if assignment.shape != groups.shape:
        raise ValueError("assignment must have one entry per clip.")
    if assignment.size and (assignment.min() < EXCLUDED or assignment.max() > TEST):
        raise ValueError("assignment codes must be -1 (excluded), 0, 1 or 2.")
    keep = assignment >= 0
    if pool is not None:
        keep &= np.asarray(pool, dtype=bool)
    counted = np.array(
        [bool(np.any(assignment[keep] == s)) if ratios is None else ratios[s] > 0 for s in range(3)])

    variables: list[tuple[str, np.ndarray, np.ndarray]] = [("exercise", exercise[keep], assignment[keep])]
    if cs is not None:
        for j in range(cs.shape[1]):
            variables.append((f"clip_stratum_{j}", cs[keep, j], assignment[keep]))
    if gs is not None:
        for j in range(gs.shape[1]):
            variables.append((f"group_stratum_{j}", gs[groups[keep], j], assignment[keep]))

    proportions: dict = {name: {} for name in (*SPLIT_NAMES, "all")}
    max_dev = 0.0
    for var_name, values, split_of in variables:
        levels, codes = np.unique(values, return_inverse=True)
        n_levels = levels.shape[0]
        table = np.bincount(split_of * n_levels + codes, minlength=3 * n_levels).reshape(3, n_levels)
        whole = table.sum(0) / max(table.sum(), 1)
        per_split = table / np.maximum(table.sum(1, keepdims=True), 1)
        keys = [_py(v) for v in levels]
        proportions["all"][var_name] = dict(zip(keys, whole.tolist()))
        for s, name in enumerate(SPLIT_NAMES):
            proportions[name][var_name] = dict(zip(keys, per_split[s].tolist()))
        if n_levels and counted.any():
            max_dev = max(max_dev, float(np.abs(per_split[counted] - whole).max()))
    return proportions, max_dev


def manifest_hash(clip_ids_by_split: Mapping[str, Iterable[Any]] | Sequence[Iterable[Any]]) -> str:
    """SHA-256 of a split manifest, independent of the order of ids and of splits.

    Parameters
    ----------
    clip_ids_by_split : mapping or sequence
        ``{"train": ids, "val": ids, "test": ids}``, or a sequence in the order of
        :data:`SPLIT_NAMES`. Ids are compared as ``str(id)``, so ``7`` and ``"7"`` are the same
        clip; an id listed twice in a split counts once.

    Returns
    -------
    str
        64 hex digits. The digest covers canonical JSON ``{split: sorted ids}`` with sorted
        keys, so the same sets give the same hash on any machine and Python version.
    """
    if isinstance(clip_ids_by_split, Mapping):
        items = clip_ids_by_split.items()
    else:
        items = zip(SPLIT_NAMES, clip_ids_by_split)
    canonical = {str(name): sorted({str(_py(i)) for i in ids}) for name, ids in items}
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def clip_ids_by_split(clip_ids: np.ndarray, assignment: np.ndarray) -> dict[str, list]:
    """Group clip ids by split code (excluded clips are left out), ready for :func:`manifest_hash`."""
    clip_ids = np.asarray(clip_ids)
    assignment = np.asarray(assignment)
    return {name: clip_ids[assignment == s].tolist() for s, name in enumerate(SPLIT_NAMES)}


def check_disjoint(clip_group: np.ndarray, assignment: np.ndarray) -> list:
    """Participants whose clips sit in more than one split (excluded clips do not count).

    Returns
    -------
    list
        Offending participant ids, sorted; empty when the split is participant-disjoint.
    """
    groups = np.asarray(clip_group)
    assignment = np.asarray(assignment)
    if groups.shape != assignment.shape or groups.ndim != 1:
        raise ValueError("clip_group and assignment must be 1-D arrays of the same length.")
    kept = assignment >= 0
    pairs = np.unique(np.stack([groups[kept], assignment[kept].astype(groups.dtype, copy=False)]), axis=1)
    ids, n_splits = np.unique(pairs[0], return_counts=True)
    return [_py(g) for g in ids[n_splits > 1]]


# --- validation -------------------------------------------------------------------------------

def _check_ratios(ratios: Sequence[float]) -> np.ndarray:
    arr = np.asarray(ratios, dtype=float)
    if arr.shape != (3,):
        raise ValueError(f"ratios must be three numbers (train, val, test), got {ratios!r}.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"ratios must be non-negative, got {ratios!r}.")
    if abs(arr.sum() - 1.0) > 1e-6:
        raise ValueError(f"ratios must sum to 1 (within 1e-6), got {ratios!r} (sum {arr.sum():.9g}).")
    return arr


def _check_arrays(clip_group, clip_exercise, clip_strata, group_strata):
    groups = np.asarray(clip_group)
    exercise = np.asarray(clip_exercise)
    if groups.ndim != 1 or exercise.ndim != 1 or groups.shape != exercise.shape:
        raise ValueError("clip_group and clip_exercise must be 1-D arrays of the same length.")
    if groups.size == 0:
        raise ValueError("There are no clips to split.")
    if groups.dtype.kind not in "iu":
        raise ValueError(f"clip_group must hold integer participant indices, got dtype {groups.dtype}.")
    if groups.min() < 0:
        raise ValueError("clip_group must hold non-negative participant indices.")
    cs = None
    if clip_strata is not None:
        cs = np.asarray(clip_strata)
        cs = cs[:, None] if cs.ndim == 1 else cs
        if cs.ndim != 2 or cs.shape[0] != groups.shape[0]:
            raise ValueError("clip_strata must have shape (n_clips,) or (n_clips, k).")
    gs = None
    if group_strata is not None:
        gs = np.asarray(group_strata)
        gs = gs[:, None] if gs.ndim == 1 else gs
        if gs.ndim != 2 or gs.shape[0] <= groups.max():
            raise ValueError(
                "group_strata must have shape (n_groups,) or (n_groups, m) and one row per "
                f"participant index up to {int(groups.max())}.")
    return groups, exercise, cs, gs


def _holdout_mask(exercise: np.ndarray, holdout_exercises: Iterable[Any]) -> np.ndarray:
    held = np.asarray(list(holdout_exercises))
    if held.size == 0:
        return np.zeros(exercise.shape, dtype=bool)
    present = np.isin(held, exercise)
    if not present.all():
        missing = sorted({_py(e) for e in held[~present]}, key=str)
        raise ValueError(f"holdout_exercises not found among the clips' exercises: {missing}.")
    hold = np.isin(exercise, held)
    if hold.all():
        raise ValueError(
            "holdout_exercises cover every clip; at least one exercise must remain for training.")
    return hold


# --- the algorithm ----------------------------------------------------------------------------

def _draw_few_shot(g_of_clip, exercise, hold, n_hold, k, rng):
    """Pick exactly k clips per held-out exercise, from as few participants as possible.

    A donor goes wholly to train, so its other held-out clips are lost to test; preferring
    participants already chosen, then those with few held-out clips, keeps that loss small.
    """
    n_groups = n_hold.shape[0]
    is_donor = np.zeros(n_groups, dtype=bool)
    shot = np.zeros(exercise.shape[0], dtype=bool)
    tie_break = rng.permutation(n_groups)
    for ex in np.unique(exercise[hold]):
        clips = np.flatnonzero(exercise == ex)
        if clips.shape[0] <= k:
            raise ValueError(
                f"few_shot_k={k} would move every clip of held-out exercise {_py(ex)!r} "
                f"({clips.shape[0]} clips) into train, leaving none for test.")
        clips = clips[rng.permutation(clips.shape[0])]
        cand = np.unique(g_of_clip[clips])
        order = np.lexsort((tie_break[cand], n_hold[cand], ~is_donor[cand]))
        need = k
        for g in cand[order]:
            if need == 0:
                break
            take = clips[g_of_clip[clips] == g][:need]
            shot[take] = True
            is_donor[g] = True
            need -= take.shape[0]
    return np.flatnonzero(is_donor), shot


def _pool_features(g_of_clip, exercise, cs, gs, group_ids, pool, n_pool):
    """Per-participant counts in every balanced column, each column's weight and unit total.

    Columns: [clip count, 1 per participant] + exercise levels + each clip stratum's levels +
    each group stratum's levels (a participant's clips all carry its group stratum), all over
    pool (non-held-out) clips. ``units[l]`` is the pool total of the column's unit (clips, or
    participants for the participant column), so that a count gap divided by
    ``ratio * units`` is a gap in share.
    """
    n_groups = group_ids.shape[0]
    g_pool = g_of_clip[pool]
    in_pool = (n_pool > 0).astype(float)
    # The participant column keeps each split's share of participants on its ratio too;
    # without it the first, largest participants fill the small splits (their relative deficit
    # is largest), and val/test end up made of the heaviest contributors.
    blocks = [n_pool[:, None].astype(float), in_pool[:, None]]
    weights = [_SIZE_WEIGHT, _SIZE_WEIGHT]
    units = [float(g_pool.shape[0]), float(in_pool.sum())]
    clip_vars = [exercise[pool]]
    if cs is not None:
        clip_vars += [cs[pool, j] for j in range(cs.shape[1])]
    if gs is not None:
        # A participant's stratum weighs by its clip count: the models train on clips.
        clip_vars += [gs[group_ids[g_pool], j] for j in range(gs.shape[1])]
    for values in clip_vars:
        _, codes = np.unique(values, return_inverse=True)
        n_levels = int(codes.max()) + 1 if codes.size else 0
        block = np.bincount(g_pool * n_levels + codes, minlength=n_groups * n_levels)
        blocks.append(block.reshape(n_groups, n_levels).astype(float))
        weights += [_STRATUM_WEIGHT] * n_levels
        units += [float(g_pool.shape[0])] * n_levels
    return np.hstack(blocks), np.asarray(weights), np.asarray(units)


def _greedy_assign(features, weights, units, ratios, forced, n_pool, rng):
    """Assign each participant to the split where it most lowers the weighted squared gap.

    The cost is ``sum_s sum_l w_l * ((A[s,l] - r_s * N_l) / (r_s * U_l))**2``: ``A`` the counts
    assigned so far, ``N_l`` the pool total of column ``l``, ``U_l`` the pool's clip count (or
    participant count, for the participant column). Once a split holds its share ``r_s * U_l``,
    the bracket is the gap between the split's and the pool's proportion of level ``l``. Adding
    counts ``c`` to split ``s`` changes the cost by ``sum_l w_l * c_l * (2 * (A - T) + c) /
    (r_s * U_l)**2``, evaluated for the three splits at once.
    """
    n_groups = features.shape[0]
    totals = features.sum(0)
    active = ratios > 0
    target = ratios[:, None] * totals[None, :]
    scale = np.zeros((3, features.shape[1]))
    scale[active] = weights / (ratios[active, None] * np.maximum(units, 1.0)) ** 2

    group_split = np.full(n_groups, -1, dtype=np.int8)
    group_split[forced >= 0] = forced[forced >= 0]
    assigned = np.zeros((3, features.shape[1]))
    for s in range(3):
        assigned[s] = features[forced == s].sum(0)

    free = np.flatnonzero((forced < 0) & (n_pool > 0))
    # A seeded random order, not largest-first: with the participant column in the cost,
    # largest-first leaves only small participants at the end, which cannot repair the clip
    # shares, and it gave 5x worse balance before the local search (bench/splitting_core.md).
    order = free[rng.permutation(free.shape[0])]
    inactive_penalty = np.where(active, 0.0, np.inf)
    gap = assigned - target
    for g in order:
        c = features[g]
        delta = (scale * c * (2.0 * gap + c)).sum(1) + inactive_penalty
        s = int(np.argmin(delta))
        gap[s] += c
        group_split[g] = s
    # The products are small (~1,000 x 60 by 60 x 250): BLAS threads only add overhead, and on a
    # busy machine they made the search 2-3x slower. One thread also keeps the float32 ranking
    # independent of the thread count.
    with threadpool_limits(limits=1, user_api="blas"):
        _local_search(features, scale, gap, group_split, movable=free, active=active,
                      max_rounds=_LOCAL_SEARCH_ROUNDS)
    return group_split


def _local_search(features, scale, gap, group_split, *, movable, active, max_rounds):
    """Improve the greedy split by single moves and pairwise swaps while the cost drops.

    Greedy placement is myopic about the participants that come later. Each round scores every
    move of one participant to another split and every swap of two participants between two
    splits, all at once; with ``k = scale`` and ``gap = A - T``:

    - moving counts ``c`` from split ``a`` to ``b`` changes the cost by
      ``sum_l k_a c (c - 2 gap_a) + k_b c (c + 2 gap_b)``;
    - swapping ``g`` (in ``a``) with ``h`` (in ``b``) changes it by
      ``sum_l (k_a + k_b) (c_g - c_h)**2 + 2 (c_h - c_g) (k_a gap_a - k_b gap_b)``, which expands
      into per-participant terms plus one matrix product ``C_a diag(k_a + k_b) C_b^T``.

    The best few candidates of a round are then applied one after another, each re-scored
    exactly against the updated gaps and skipped unless it still lowers the cost, so a round
    costs one set of matrix products however many changes it makes. The cost strictly
    decreases, so there are no cycles. Swaps matter because the participant column makes most
    single moves unprofitable.
    """
    feats = features[movable]
    sq = feats * feats
    # The swap matrices only rank candidates (each is re-scored exactly in float64 before it is
    # applied), so float32 is precise enough and halves the time of the largest products.
    feats32, sq32 = feats.astype(np.float32), sq.astype(np.float32)
    rows = np.arange(movable.shape[0])
    split_pairs = [(a, b) for a in range(3) for b in range(a + 1, 3) if active[a] and active[b]]
    for _ in range(max_rounds):
        current = group_split[movable].astype(np.intp)
        tol = 1e-12 * max(1.0, float((scale * gap * gap).sum()))
        cross = feats @ (scale * gap).T
        self_term = sq @ scale.T
        remove = self_term[rows, current] - 2.0 * cross[rows, current]
        move = remove[:, None] + self_term + 2.0 * cross
        move[rows, current] = np.inf
        move[:, ~active] = np.inf
        candidates = [(d, ((r, to),)) for d, (r, to) in _best_entries(move, np.arange(move.shape[0]),
                                                                       np.arange(3))]
        for a, b in split_pairs:
            in_a, in_b = np.flatnonzero(current == a), np.flatnonzero(current == b)
            if in_a.size == 0 or in_b.size == 0:
                continue
            # Scaled so that the float32 products stay in range: the entries of ``scale`` are
            # tiny (1 / (r * n_clips)**2).
            norm = float(scale[a].max() + scale[b].max())
            k_ab = ((scale[a] + scale[b]) / norm).astype(np.float32)
            u = ((scale[a] * gap[a] - scale[b] * gap[b]) / norm).astype(np.float32)
            ca, cb = feats32[in_a], feats32[in_b]
            swap = ((sq32[in_a] @ k_ab - 2.0 * (ca @ u))[:, None]
                    + (sq32[in_b] @ k_ab + 2.0 * (cb @ u))[None, :]
                    - 2.0 * ((ca * k_ab) @ cb.T))
            swap *= norm
            candidates += [(d, ((ra, b), (rb, a))) for d, (ra, rb) in _best_entries(swap, in_a, in_b)]
        candidates.sort(key=lambda item: item[0])
        touched: set[int] = set()
        changed = False
        for estimate, change in candidates:
            if not estimate < -tol:
                break
            if any(r in touched for r, _ in change):
                continue
            step = np.zeros_like(gap)
            for r, to in change:
                step[current[r]] -= feats[r]
                step[to] += feats[r]
            if (scale * step * (2.0 * gap + step)).sum() < -tol:
                gap += step
                for r, to in change:
                    group_split[movable[r]] = to
                    touched.add(r)
                changed = True
        if not changed:
            break


def _best_entries(delta, row_ids, col_ids, n_best=_CANDIDATES_PER_ROUND):
    """Up to ``n_best`` negative entries of a delta matrix, the best of each of the best rows.

    One entry per row keeps the candidates from piling onto one participant, whose first
    applied change would void the rest. Returns (value, (row id, col id)) pairs.
    """
    cols = np.argmin(delta, axis=1)
    vals = delta[np.arange(delta.shape[0]), cols]
    n = min(n_best, vals.size)
    if n == 0:
        return []
    rows = np.argpartition(vals, n - 1)[:n]
    rows = rows[vals[rows] < 0]
    return [(float(vals[r]), (int(row_ids[r]), int(col_ids[cols[r]]))) for r in rows]


def _check_holdout_reaches_test(exercise, hold, assignment):
    held, codes = np.unique(exercise[hold], return_inverse=True)
    in_test = np.bincount(codes, weights=assignment[hold] == TEST, minlength=held.shape[0])
    if np.any(in_test == 0):
        missing = [_py(e) for e in held[in_test == 0]]
        raise ValueError(
            f"Held-out exercises {missing} have no test clip left after the few-shot draw and the "
            "participant-disjoint assignment (their participants all went to train/val); lower "
            "few_shot_k, raise the test ratio or use mixed_holdout='test'.")


def _counts(assignment, g_of_clip, hold, n_groups):
    keys = (*SPLIT_NAMES, "excluded")
    codes = (TRAIN, VAL, TEST, EXCLUDED)
    group_split = np.full(n_groups, EXCLUDED, dtype=np.int8)
    kept = assignment >= 0
    group_split[g_of_clip[kept]] = assignment[kept]
    return {
        "clips": {k: int(np.count_nonzero(assignment == c)) for k, c in zip(keys, codes)},
        "pool_clips": {k: int(np.count_nonzero((assignment == c) & ~hold)) for k, c in zip(keys, codes)},
        "holdout_clips": {k: int(np.count_nonzero((assignment == c) & hold)) for k, c in zip(keys, codes)},
        "groups": {k: int(np.count_nonzero(group_split == c)) for k, c in zip(keys, codes)},
    }


def _py(value: Any) -> Any:
    """numpy scalar -> Python scalar, so results serialise to JSON."""
    return value.item() if isinstance(value, np.generic) else value
