"""Options shared by every export format, and the row plan (balancing) they all follow."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from config.exceptions import DomainError
from datasets.exports.balancing import (
    METHODS, POSE_AUGMENTATIONS, BalancePlan, balance_plan, swap_side_code,
)

SPLIT_NAMES = ("train", "val", "test")
SPLIT_CODE = {name: i for i, name in enumerate(SPLIT_NAMES)}
DEFAULT_LICENSE = "CC-BY-4.0"


@dataclass(frozen=True)
class ExportOptions:
    """Options of ``export_split``; every format reads the ones that concern it.

    ``balance`` / ``balance_splits`` / ``seed``: class balancing (seed 001 §2.2).
    ``include_pose``: copy pose arrays (jsonl, csv, parquet write ``pose/<clip>.npy``; npz always
    carries them). ``max_frames``: crop pose to this many frames in npz. ``llava_frames``: frames
    the LLaVA time instruction says are sampled; ``time_instruction``: whether to add it.
    ``video_prefix``: folder of the videos, relative to LLaVA's ``--video_folder``.
    ``qevd_span_s``: how long a feedback line lasts in the dense QEVD list (FormLab stores the
    frame it starts at, not its duration). ``license``: SPDX id for the card and Croissant.
    """

    balance: str = "none"
    balance_splits: tuple = ("train",)
    seed: int = 0
    include_pose: bool = False
    max_frames: int | None = None
    llava_frames: int = 32
    time_instruction: bool = True
    video_prefix: str = "videos"
    qevd_span_s: float = 2.0
    license: str = ""
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        out = asdict(self)
        out["balance_splits"] = list(self.balance_splits)
        return out


def options_from_params(params: dict) -> ExportOptions:
    """Build options from command/job/API parameters (strings allowed), refusing bad values."""
    p = dict(params)
    errors = {}
    balance = p.pop("balance", "none") or "none"
    if balance not in METHODS:
        errors["balance"] = [f"Use one of {', '.join(METHODS)}."]
    splits = p.pop("balance_splits", ("train",))
    if isinstance(splits, str):
        splits = [s.strip() for s in splits.split(",") if s.strip()]
    bad = [s for s in splits if s not in SPLIT_CODE]
    if bad:
        errors["balance_splits"] = [f"Unknown split(s) {bad}; use train, val, test."]
    ints = {}
    for name, default, low in (("seed", 0, 0), ("llava_frames", 32, 1), ("max_frames", None, 1)):
        raw = p.pop(name, default)
        if raw in (None, ""):
            ints[name] = default
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            errors[name] = [f"Expected an integer, got {raw!r}."]
            continue
        if value < low:
            errors[name] = [f"Must be at least {low}."]
        ints[name] = value
    bools = {}
    for name, default in (("include_pose", False), ("time_instruction", True)):
        raw = p.pop(name, default)
        if isinstance(raw, str):
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                errors[name] = [f"Expected true or false, got {raw!r}."]
                continue
            raw = raw.lower() in ("true", "1", "yes")
        bools[name] = bool(raw)
    try:
        span = float(p.pop("qevd_span_s", 2.0))
        if not math.isfinite(span) or span <= 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["qevd_span_s"] = ["Expected a positive number of seconds."]
        span = 2.0
    video_prefix = str(p.pop("video_prefix", "videos") or "videos").strip("/")
    if ".." in video_prefix.split("/") or video_prefix.startswith("~"):
        errors["video_prefix"] = ["Must be a relative path without '..'."]
    license_ = str(p.pop("license", "") or "")
    if errors:
        raise DomainError(f"Invalid export option(s): {', '.join(sorted(errors))}.", code="invalid_export_option",
                          fields=errors)
    return ExportOptions(balance=balance, balance_splits=tuple(splits), seed=ints["seed"],
                         include_pose=bools["include_pose"], max_frames=ints["max_frames"],
                         llava_frames=ints["llava_frames"], time_instruction=bools["time_instruction"],
                         video_prefix=video_prefix, qevd_span_s=span, license=license_, extra=p)


def row_plan(data, options: ExportOptions, *, augmentations=POSE_AUGMENTATIONS) -> BalancePlan:
    """The export's rows: every clip once, or the balanced plan (memoised on ``data``)."""
    key = (options.balance, tuple(options.balance_splits), options.seed, tuple(augmentations))
    cache = data.__dict__.setdefault("_plans", {})
    if key not in cache:
        cache[key] = _row_plan(data, options, augmentations)
    return cache[key]


def _row_plan(data, options, augmentations) -> BalancePlan:
    if options.balance == "none":
        n = data.n_clips
        return BalancePlan(source=np.arange(n, dtype=np.int64), augmentation=np.full(n, "", dtype=object),
                           class_counts={})
    return balance_plan(split=data.clips["split"], class_key=data.clip_class_keys(), method=options.balance,
                        balanced_splits=[SPLIT_CODE[s] for s in options.balance_splits], seed=options.seed,
                        augmentations=augmentations)


def mirrored_codes(data) -> dict:
    """error code -> its left/right counterpart, for mirrored copies."""
    known = set(data.error_codes)
    return {code: swap_side_code(code, known) for code in known}


def offsets(sorted_rows: np.ndarray, n: int) -> np.ndarray:
    """CSR offsets: rows of group ``i`` are ``[out[i], out[i+1])`` in an array sorted by group."""
    return np.searchsorted(sorted_rows, np.arange(n + 1))


def seconds(frame, fps) -> float | None:
    """Frame position -> seconds at the clip's rate (6 decimals), None for unknown (NaN)."""
    if frame is None or (isinstance(frame, float) and math.isnan(frame)):
        return None
    return round(frame / fps, 6)

