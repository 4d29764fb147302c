"""Generate a synthetic Halo Trainer dataset (seed 000) as numpy arrays.

`generate_halo` draws, in order and each from its own child seed:

1. participants with a skill level (beginner / intermediate / expert);
2. the exercise of every clip, proportional to the Table 5 clip counts (exact at full scale),
   making sure small sets still hold several exercises with error types;
3. the participant of every clip (each participant gets at least one clip);
4. clip duration and repetition count from the Table 5 mean +/- std of the exercise;
5. the true start and end frame of every repetition (lead-in, repetitions of varying length,
   rests between them, lead-out);
6. the true severity of every (repetition, error type): an ordinal probit whose thresholds make
   the class frequencies of each error type match Table 6, shifted by the participant's skill and
   correlated within participant and clip;
7. which clips go to severity voting, and the items (repetition, error type) of those clips;
8. end-point annotators, three per clip, and their marks;
9. severity voters, ten per (clip, error type), and their votes.

Pose sequences are not stored: `SyntheticDataset.clip_pose` renders a clip on demand from the
clip's own seed, so it does not depend on which other clips were rendered before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from datasets.core.synthetic import annotators as ann
from datasets.core.synthetic.halo_catalog import (
    ANNOTATOR_KAPPA1_FROM_TARGET,
    HALO_EXERCISES,
    HALO_N_CLIPS,
    HALO_N_PARTICIPANTS,
    ErrorTypeSpec,
    ExerciseSpec,
)
from datasets.core.synthetic.pose import MOTIONS, participant_body, render_clip

__all__ = [
    "FPS",
    "SEVERITY_LABELLED_FRACTION",
    "SyntheticDataset",
    "generate_halo",
]

FPS = 30.0
#: Table 1 of seed 000: clip duration min / max (s) and repetition count max.
DURATION_RANGE_S = (14.2, 82.5)
MAX_REPS = 102
#: Share of the clips of exercises with error types that go to severity voting. The paper says
#: "a subset of all repetitions is then classified into form error severity labels"; one item per
#: (repetition, error type) of every such clip would give ~1.04 M items at full scale, and this
#: share brings it to the ~0.9 M items / ~9 M votes of the brief (Table 6 itself totals 986,010).
SEVERITY_LABELLED_FRACTION = 0.868
#: Population shares of beginner / intermediate / expert participants.
SKILL_SHARES = (0.4, 0.4, 0.2)
#: Shift of the latent severity by skill (beginners err more, experts less).
SKILL_OFFSET = np.array([0.35, 0.0, -0.45])
#: Sds of the latent severity: participant x error type, clip x error type, repetition.
SEVERITY_SD = (0.3, 0.3, 0.6)
#: Default annotators' Kappa1 where Table 9 prints NA, and the cap (Kappa1 = 1 needs noiseless
#: voters, which would leave nothing to clean).
DEFAULT_ANNOTATOR_KAPPA1 = 0.9
MAX_ANNOTATOR_KAPPA1 = 0.97
#: Full-scale pool sizes (seed 000 does not say; chosen so each voter labels ~90 k items).
FULL_ENDPOINT_POOL = 60
FULL_VOTER_POOL = 100
MIN_REP_MEAN_FRAMES = 15

# Child seed keys, one per component: changing one component leaves the others' draws alone.
_KEY_PARTICIPANTS, _KEY_EXERCISES, _KEY_CLIP_PARTICIPANT, _KEY_LENGTHS, _KEY_LAYOUT = 1, 2, 3, 4, 5
_KEY_SEVERITY, _KEY_LABELLED, _KEY_ENDPOINT, _KEY_MARKS, _KEY_VOTERS, _KEY_VOTES = range(6, 12)
_KEY_POSE, _KEY_BODY = 100, 101


def _rng(seed: int, key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


@dataclass
class SyntheticDataset:
    """A generated Halo-like dataset: hidden truth and simulated labels as numpy arrays.

    All indices are 0-based positions into the arrays named. Repetitions of a clip are
    contiguous and in order (``rep_clip`` is sorted); items are sorted by repetition, then by the
    error type's position in its exercise; votes are grouped by item; marks are sorted by
    (clip, annotator, frame). Annotators ``0 .. n_endpoint-1`` are end-point annotators
    (``annotator_kind == 0``), the rest severity voters (kind 1); nobody is both.

    Beyond the contract fields there are three hidden-truth extras: ``rep_error_severity``
    (every repetition's severity for every error type of its exercise, also for clips that were
    not sent to voting, which the pose renderer uses), ``clip_severity_labelled`` and
    ``error_type_params`` (severity thresholds, class probabilities, vote difficulty and the
    annotators' Kappa1 each error type was calibrated to).
    """

    seed: int
    fps: float
    exercises: tuple[ExerciseSpec, ...]
    error_types: list[tuple[int, ErrorTypeSpec]]
    participant_skill: np.ndarray
    clip_participant: np.ndarray
    clip_exercise: np.ndarray
    clip_n_frames: np.ndarray
    rep_clip: np.ndarray
    rep_index: np.ndarray
    rep_true_start: np.ndarray
    rep_true_end: np.ndarray
    item_rep: np.ndarray
    item_error_type: np.ndarray
    item_true_severity: np.ndarray
    annotator_kind: np.ndarray
    annotator_params: list[dict]
    mark_clip: np.ndarray
    mark_annotator: np.ndarray
    mark_frame: np.ndarray
    vote_item: np.ndarray
    vote_annotator: np.ndarray
    vote_value: np.ndarray
    rep_error_severity: np.ndarray = field(default=None, repr=False)
    clip_severity_labelled: np.ndarray = field(default=None, repr=False)
    error_type_params: list[dict] = field(default_factory=list, repr=False)

    # ---- sizes ------------------------------------------------------------------------------
    @property
    def n_clips(self) -> int:
        return int(self.clip_exercise.size)

    @property
    def n_reps(self) -> int:
        return int(self.rep_clip.size)

    @property
    def n_items(self) -> int:
        return int(self.item_rep.size)

    @property
    def n_votes(self) -> int:
        return int(self.vote_item.size)

    # ---- on-demand pose -----------------------------------------------------------------------
    def clip_reps(self, clip: int) -> slice:
        """Positions of the repetitions of ``clip`` in the ``rep_*`` arrays."""
        lo, hi = np.searchsorted(self.rep_clip, [clip, clip + 1])
        return slice(int(lo), int(hi))

    def _render(self, clip: int):
        if not 0 <= clip < self.n_clips:
            raise IndexError(f"clip {clip} out of range [0, {self.n_clips})")
        exercise = self.exercises[int(self.clip_exercise[clip])]
        reps = self.clip_reps(clip)
        n_err = len(exercise.error_types)
        severity = self.rep_error_severity[reps, :n_err] if n_err else None
        participant = int(self.clip_participant[clip])
        clip_seed = np.random.SeedSequence(self.seed, spawn_key=(_KEY_POSE, clip))
        body_seed = np.random.SeedSequence(self.seed, spawn_key=(_KEY_BODY, participant))
        return render_clip(
            exercise.slug,
            n_frames=int(self.clip_n_frames[clip]),
            rep_start=self.rep_true_start[reps],
            rep_end=self.rep_true_end[reps],
            severity=severity,
            rng=np.random.default_rng(clip_seed),
            body=participant_body(body_seed),
            fps=self.fps,
        )

    def clip_pose(self, clip: int) -> np.ndarray:
        """26-joint 2D pose of ``clip``: (n_frames, 26, 2) float32 pixels, NaN where dropped.

        Deterministic per (seed, clip) and independent of any other clip; see `pose.render_clip`.
        """
        return self._render(clip).pose

    def clip_dropped(self, clip: int) -> np.ndarray:
        """(n_frames, 26) bool: the joints `clip_pose` dropped (hidden truth)."""
        return self._render(clip).dropped

    # ---- hidden truth helpers ----------------------------------------------------------------
    def vote_confusion(self, annotator: int, error_type: int) -> np.ndarray:
        """P(vote = k | true = t), (4, 4), of voter ``annotator`` on ``error_type``."""
        p = self.annotator_params[annotator]
        if p["kind"] != "voter":
            raise ValueError(f"annotator {annotator} is not a severity voter")
        d = self.error_type_params[error_type]["vote_difficulty"]
        return ann.vote_confusion(p["bias"], p["noise_sd"], p["lapse_rate"], d)


# ---- scaling ------------------------------------------------------------------------------------
def _default_participants(n_clips: int) -> int:
    return max(3, round(HALO_N_PARTICIPANTS * n_clips / HALO_N_CLIPS))


def _pool_sizes(n_clips: int, k_ep: int, k_vote: int, pool: int | None) -> tuple[int, int]:
    if pool is None:
        root = math.sqrt(min(n_clips, HALO_N_CLIPS) / HALO_N_CLIPS)
        n_ep = max(k_ep + 1, min(FULL_ENDPOINT_POOL, math.ceil(FULL_ENDPOINT_POOL * root)))
        n_vote = max(k_vote + 2, min(FULL_VOTER_POOL, math.ceil(FULL_VOTER_POOL * root)))
        return n_ep, n_vote
    share = FULL_ENDPOINT_POOL / (FULL_ENDPOINT_POOL + FULL_VOTER_POOL)
    n_ep = max(k_ep, round(pool * share))
    n_vote = pool - n_ep
    if n_vote < k_vote:
        raise ValueError(
            f"annotator_pool={pool} leaves {n_vote} voters, fewer than n_voters_per_item={k_vote}"
        )
    return n_ep, n_vote


# ---- components ---------------------------------------------------------------------------------
def _allocate_exercises(rng, n_clips: int, exercises) -> np.ndarray:
    """Clip count per exercise: proportional to Table 5, exact at full scale.

    Floors of the proportional shares, then the remainder drawn without replacement weighted by
    the fractional parts. Small sets then get clips moved from the largest exercises to
    exercises with error types until ``min(#error exercises, ceil(n/2))`` of those are covered.
    """
    counts = np.array([e.n_clips for e in exercises], dtype=np.float64)
    share = counts * n_clips / counts.sum()
    alloc = np.floor(share).astype(np.int64)
    remainder = n_clips - int(alloc.sum())
    frac = share - alloc
    if remainder:
        keys = np.log(np.maximum(frac, 1e-300)) - np.log(-np.log(rng.random(frac.size)))
        alloc[np.argsort(-keys)[:remainder]] += 1
    has_err = np.array([bool(e.error_types) for e in exercises])
    want = min(int(has_err.sum()), math.ceil(n_clips / 2))
    while int(((alloc > 0) & has_err).sum()) < want:
        uncovered = np.nonzero(has_err & (alloc == 0))[0]
        receiver = rng.choice(uncovered, p=counts[uncovered] / counts[uncovered].sum())
        # Donor: the exercise with most clips among those that can spare one without losing
        # coverage (any exercise without error types, or one with error types and >= 2 clips).
        spare = np.where(has_err, alloc - 1, alloc)
        donor = int(np.argmax(np.where(spare > 0, alloc, -1)))
        alloc[donor] -= 1
        alloc[receiver] += 1
    return alloc


def _rep_count_location(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Normal location whose rounded, >= 1 truncated draws have the Table 5 mean.

    Clipping a wide count distribution at 1 raises its mean (push-ups: 6.83 +/- 4.23); shifting
    the location down keeps the catalogue mean, and so the 1,157,104 repetitions.
    """
    k = np.arange(1, MAX_REPS + 1, dtype=np.float64)
    lo, hi = mean - 4.0 * std - 1.0, mean + 0.5
    for _ in range(60):
        mid = (lo + hi) / 2.0
        z_hi = (k[None, :] + 0.5 - mid[:, None]) / std[:, None]
        cdf = ndtr(z_hi)
        cdf[:, -1] = 1.0
        pmf = np.diff(np.concatenate([np.zeros((mean.size, 1)), cdf], axis=1), axis=1)
        expected = pmf @ k
        too_high = expected > mean
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return (lo + hi) / 2.0


def _severity_thresholds(
    class_counts: np.ndarray, skill_weights: np.ndarray, sd: float
) -> np.ndarray:
    """Cut points (n_err, 3) of the latent severity so the skill mixture has the class shares.

    The latent of a participant of skill s is normal with mean ``SKILL_OFFSET[s]`` and sd ``sd``;
    ``skill_weights`` (n_err, 3) is the share of repetitions of each skill. Bisection on the
    mixture CDF; an empty class gives two equal cut points, so it never occurs.
    """
    # Integer cumulative counts, so an empty last class gives exactly 1.0 (an infinite cut).
    cum = np.cumsum(class_counts, axis=1)[:, :3] / class_counts.sum(axis=1, keepdims=True)
    lo = np.full(cum.shape, -12.0)
    hi = np.full(cum.shape, 12.0)
    for _ in range(70):
        mid = (lo + hi) / 2.0
        cdf = (ndtr((mid[..., None] - SKILL_OFFSET) / sd) * skill_weights[:, None, :]).sum(-1)
        below = cdf < cum
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    tau = (lo + hi) / 2.0
    tau[cum <= 0.0] = -np.inf
    tau[cum >= 1.0] = np.inf
    return tau


def _rep_layout(rng, clip_n_frames, clip_n_reps, clip_gap):
    """True start / end frames of every repetition, vectorised over repetitions."""
    n_clips = clip_n_frames.size
    frames = clip_n_frames.astype(np.float64)
    lead_in = frames * rng.uniform(0.03, 0.10, n_clips)
    lead_out = frames * rng.uniform(0.03, 0.08, n_clips)
    active = frames - lead_in - lead_out
    rep_clip = np.repeat(np.arange(n_clips), clip_n_reps)
    n_reps = rep_clip.size
    first = np.cumsum(clip_n_reps) - clip_n_reps
    rep_index = np.arange(n_reps) - np.repeat(first, clip_n_reps)
    length = rng.gamma(16.0, 1.0 / 16.0, n_reps)  # cv 0.25
    gap = clip_gap[rep_clip] * rng.gamma(2.0, 0.5, n_reps)
    gap[rep_index == 0] = 0.0
    unit = length + gap
    total = np.bincount(rep_clip, weights=unit, minlength=n_clips)
    scale = active / np.where(total > 0, total, 1.0)
    cum = np.cumsum(unit)
    before = cum - unit - np.repeat(cum[first] - unit[first], clip_n_reps)  # within-clip exclusive
    start = lead_in[rep_clip] + scale[rep_clip] * (before + gap)
    end = start + scale[rep_clip] * length
    rep_start = np.rint(start).astype(np.int64)
    rep_end = np.maximum(np.rint(end).astype(np.int64) - 1, rep_start + 1)
    return rep_clip, rep_index, rep_start, rep_end


def generate_halo(
    *,
    n_clips: int,
    seed: int,
    n_participants: int | None = None,
    n_endpoint_annotators_per_clip: int = 3,
    n_voters_per_item: int = 10,
    annotator_pool: int | None = None,
) -> SyntheticDataset:
    """Generate a synthetic Halo Trainer dataset with hidden truth and simulated labels.

    Parameters
    ----------
    n_clips : int
        84,608 reproduces Halo Trainer's size (seed 000): 1,642 participants, ~1.16 M
        repetitions, ~0.9 M (repetition, error type) items and ~9 M votes.
    seed : int
        Everything is a deterministic function of (n_clips, seed, the other arguments).
    n_participants : int, optional
        Default ``max(3, round(1642 * n_clips / 84608))``.
    n_endpoint_annotators_per_clip : int, default 3
    n_voters_per_item : int, default 10
    annotator_pool : int, optional
        Total number of annotators, split 60:100 between end-point annotators and voters.
        Default: ``60 * sqrt(n_clips / 84608)`` end-point annotators and
        ``100 * sqrt(n_clips / 84608)`` voters, at least 1 (resp. 2) more than a panel needs.

    Returns
    -------
    SyntheticDataset
    """
    if n_clips < 1:
        raise ValueError(f"n_clips must be >= 1, got {n_clips}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if n_endpoint_annotators_per_clip < 1 or n_voters_per_item < 1:
        raise ValueError("panels need at least one annotator")
    n_participants = _default_participants(n_clips) if n_participants is None else n_participants
    if n_participants < 1:
        raise ValueError(f"n_participants must be >= 1, got {n_participants}")
    n_ep, n_vote = _pool_sizes(n_clips, n_endpoint_annotators_per_clip, n_voters_per_item,
                               annotator_pool)
    exercises = HALO_EXERCISES
    n_ex = len(exercises)
    error_types = [(i, e) for i, spec in enumerate(exercises) for e in spec.error_types]
    n_err_types = len(error_types)
    ex_n_err = np.array([len(e.error_types) for e in exercises])
    ex_err_offset = np.cumsum(ex_n_err) - ex_n_err
    max_err = int(ex_n_err.max())

    # 1. participants
    rng = _rng(seed, _KEY_PARTICIPANTS)
    participant_skill = rng.choice(3, size=n_participants, p=SKILL_SHARES).astype(np.int8)
    participant_activity = np.exp(rng.normal(0.0, 0.6, n_participants))

    # 2. exercises of the clips
    rng = _rng(seed, _KEY_EXERCISES)
    alloc = _allocate_exercises(rng, n_clips, exercises)
    clip_exercise = rng.permutation(np.repeat(np.arange(n_ex), alloc)).astype(np.int16)

    # 3. participants of the clips: everyone gets one clip first (when there are enough clips)
    rng = _rng(seed, _KEY_CLIP_PARTICIPANT)
    n_first = min(n_clips, n_participants)
    first = rng.permutation(n_participants)[:n_first]
    rest = rng.choice(n_participants, size=n_clips - n_first,
                      p=participant_activity / participant_activity.sum())
    clip_participant = rng.permutation(np.concatenate([first, rest])).astype(np.int32)

    # 4. durations and repetition counts (correlated: longer clips hold more repetitions)
    rng = _rng(seed, _KEY_LENGTHS)
    d_mean = np.array([e.duration_mean_s for e in exercises])[clip_exercise]
    d_std = np.array([e.duration_std_s for e in exercises])[clip_exercise]
    r_mean = np.array([e.reps_mean for e in exercises])
    r_std = np.array([e.reps_std for e in exercises])
    r_loc = _rep_count_location(r_mean, r_std)[clip_exercise]
    z_d = rng.standard_normal(n_clips)
    z_r = 0.6 * z_d + 0.8 * rng.standard_normal(n_clips)
    duration = np.clip(d_mean + d_std * z_d, *DURATION_RANGE_S)
    clip_n_frames = np.rint(duration * FPS).astype(np.int32)
    gap_of = np.array([MOTIONS[e.slug].gap for e in exercises])
    clip_gap = gap_of[clip_exercise]
    cap = np.floor(0.82 * clip_n_frames / (MIN_REP_MEAN_FRAMES * (1.0 + clip_gap)))
    clip_n_reps = np.clip(np.rint(r_loc + r_std[clip_exercise] * z_r), 1,
                          np.minimum(cap, MAX_REPS)).astype(np.int64)

    # 5. repetition boundaries
    rng = _rng(seed, _KEY_LAYOUT)
    rep_clip, rep_index, rep_start, rep_end = _rep_layout(rng, clip_n_frames, clip_n_reps, clip_gap)
    n_reps = rep_clip.size

    # 6. true severities of every (repetition, error type of its exercise)
    rng = _rng(seed, _KEY_SEVERITY)
    class_counts = np.array([e.class_counts for _, e in error_types], dtype=np.float64)
    class_probs = class_counts / class_counts.sum(axis=1, keepdims=True)
    sd_p, sd_c, sd_r = SEVERITY_SD
    sd_total = math.sqrt(sd_p**2 + sd_c**2 + sd_r**2)
    rep_ex = clip_exercise[rep_clip].astype(np.int64)
    rep_skill = participant_skill[clip_participant[rep_clip]].astype(np.int64)
    err_ex = np.array([i for i, _ in error_types])
    skill_reps = np.zeros((n_ex, 3))
    np.add.at(skill_reps, (rep_ex, rep_skill), 1.0)
    skill_weights = skill_reps[err_ex]
    empty = skill_weights.sum(axis=1) == 0
    skill_weights[empty] = SKILL_SHARES
    skill_weights /= skill_weights.sum(axis=1, keepdims=True)
    tau = _severity_thresholds(class_counts, skill_weights, sd_total)  # (n_err_types, 3)
    u_participant = rng.normal(0.0, sd_p, (n_participants, n_err_types)).astype(np.float32)
    u_clip = rng.normal(0.0, sd_c, (n_clips, max_err)).astype(np.float32)
    eps = rng.normal(0.0, sd_r, (n_reps, max_err)).astype(np.float32)
    slot = np.arange(max_err)
    valid = slot[None, :] < ex_n_err[rep_ex][:, None]  # (n_reps, max_err)
    err_of = np.where(valid, ex_err_offset[rep_ex][:, None] + slot[None, :], 0)
    latent = (
        SKILL_OFFSET[rep_skill][:, None].astype(np.float32)
        + u_participant[clip_participant[rep_clip][:, None], err_of]
        + u_clip[rep_clip] + eps
    )
    del eps
    rep_error_severity = (latent[..., None] > tau[err_of]).sum(axis=-1).astype(np.int8)
    rep_error_severity[~valid] = -1
    del latent

    # 7. clips sent to severity voting, and their items
    rng = _rng(seed, _KEY_LABELLED)
    clip_has_err = ex_n_err[clip_exercise] > 0
    labelled = clip_has_err & (rng.random(n_clips) < SEVERITY_LABELLED_FRACTION)
    for ex in np.nonzero(ex_n_err)[0]:
        of_ex = np.nonzero(clip_exercise == ex)[0]
        if of_ex.size and not labelled[of_ex].any():
            labelled[of_ex[0]] = True
    rep_labelled = valid & labelled[rep_clip][:, None]
    item_rep_all, item_slot = np.nonzero(rep_labelled)  # row-major: by rep, then slot
    item_rep = item_rep_all.astype(np.int32)
    item_error_type = err_of[item_rep_all, item_slot].astype(np.int16)
    item_true_severity = rep_error_severity[item_rep_all, item_slot]
    del item_rep_all

    # 8. end-point annotators and marks
    rng = _rng(seed, _KEY_ENDPOINT)
    ep = ann.draw_endpoint_annotators(rng, n_ep)
    ep_panels = ann.assign_panels(rng, n_clips, ep["activity"], n_endpoint_annotators_per_clip)
    rng = _rng(seed, _KEY_MARKS)
    mark_clip, mark_annotator, mark_frame = ann.simulate_marks(
        rng, clip_n_frames=clip_n_frames, rep_clip=rep_clip, rep_true_end=rep_end,
        panels=ep_panels, params=ep,
    )

    # 9. voters: one panel per (clip, error type), shared by the clip's repetitions
    rng = _rng(seed, _KEY_VOTERS)
    voters = ann.draw_voters(rng, n_vote)
    targets = np.array([
        min(MAX_ANNOTATOR_KAPPA1, e.kappa1_target * ANNOTATOR_KAPPA1_FROM_TARGET)
        if e.kappa1_target is not None else DEFAULT_ANNOTATOR_KAPPA1
        for _, e in error_types
    ])
    difficulty, achieved = ann.calibrate_difficulty(class_probs, targets, voters)
    clip_tasks = np.where(labelled, ex_n_err[clip_exercise], 0)
    task_offset = np.cumsum(clip_tasks) - clip_tasks
    panels = ann.assign_panels(rng, int(clip_tasks.sum()), voters["activity"], n_voters_per_item)
    item_task = task_offset[rep_clip[item_rep]] + item_slot
    del item_slot
    rng = _rng(seed, _KEY_VOTES)
    item_panel = panels[item_task]
    del item_task
    votes = ann.simulate_votes(
        rng, true_severity=item_true_severity, item_error=item_error_type,
        item_panel=item_panel, voters=voters, difficulty=difficulty,
    )
    vote_item = np.repeat(np.arange(item_rep.size, dtype=np.int32), n_voters_per_item)
    vote_annotator = (item_panel.ravel() + n_ep).astype(np.int32)
    del item_panel
    vote_value = votes.ravel()

    annotator_kind = np.concatenate([np.zeros(n_ep, np.int8), np.ones(n_vote, np.int8)])
    annotator_params = [
        {
            "kind": "endpoint",
            "jitter_sd_frames": float(ep["jitter_sd_frames"][a]),
            "bias_frames": float(ep["bias_frames"][a]),
            "miss_rate": float(ep["miss_rate"][a]),
            "extra_rate": float(ep["extra_rate"][a]),
            "activity": float(ep["activity"][a]),
            "sloppy": bool(ep["sloppy"][a]),
        }
        for a in range(n_ep)
    ] + [
        {
            "kind": "voter",
            "bias": float(voters["bias"][v]),
            "noise_sd": float(voters["noise_sd"][v]),
            "lapse_rate": float(voters["lapse_rate"][v]),
            "activity": float(voters["activity"][v]),
            "careless": bool(voters["careless"][v]),
        }
        for v in range(n_vote)
    ]
    error_type_params = [
        {
            "class_probs": class_probs[e].tolist(),
            "latent_thresholds": tau[e].tolist(),
            "annotator_kappa1": float(targets[e]),
            "expected_annotator_kappa1": float(achieved[e]),
            "vote_difficulty": float(difficulty[e]),
        }
        for e in range(n_err_types)
    ]
    return SyntheticDataset(
        seed=seed,
        fps=FPS,
        exercises=exercises,
        error_types=error_types,
        participant_skill=participant_skill,
        clip_participant=clip_participant,
        clip_exercise=clip_exercise,
        clip_n_frames=clip_n_frames,
        rep_clip=rep_clip.astype(np.int32),
        rep_index=rep_index.astype(np.int16),
        rep_true_start=rep_start.astype(np.int32),
        rep_true_end=rep_end.astype(np.int32),
        item_rep=item_rep,
        item_error_type=item_error_type,
        item_true_severity=item_true_severity,
        annotator_kind=annotator_kind,
        annotator_params=annotator_params,
        mark_clip=mark_clip,
        mark_annotator=mark_annotator,
        mark_frame=mark_frame,
        vote_item=vote_item,
        vote_annotator=vote_annotator,
        vote_value=vote_value,
        rep_error_severity=rep_error_severity,
        clip_severity_labelled=labelled,
        error_type_params=error_type_params,
    )
