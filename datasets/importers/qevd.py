"""QEVD / FitCoach ``feedbacks_long_range.json`` (formats.md §2.1).

Give the ``QEVD-FIT-COACH`` (train) and/or ``QEVD-FIT-COACH-Benchmark`` (test) directories, or
their ``feedbacks_long_range.json`` with the ``long_range_videos/*_timestamps.npy`` files. Each
workout record becomes one clip (exercise ``qevd_workout``) whose feedback lines are stored at
the frame they start:

- ``feedbacks`` is dense, one string per video frame; ``""`` frames carry no feedback, and a
  string repeated over consecutive frames is one utterance (its first frame is kept);
- ``feedback_timestamps`` must have one entry per utterance, as the official loader asserts;
  they are checked against the frame times within 1 s and otherwise only recorded;
- ``video_timestamps`` (``.npy``, UNIX nanoseconds, read without pickle) give the frame rate:
  seconds = ``t / 1e9 + 28800`` (the loader's fixed +8 h offset), fps = (n - 1) / span.

Without the timestamps, ``--fps`` (default 30) is used. The split is the directory (train vs
benchmark); QEVD's participant ids live in another download, so the split is recorded under the
``none`` rule.
"""
from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np

from datasets.importers.common import option_fps
from datasets.importers.parsed import ParsedClip, ParsedImport
from datasets.importers.safety import check_id, check_name, read_json, read_npy, refuse

QEVD_CLOCK_OFFSET_S = 28800
SPLIT_RULE_DETAIL = "QEVD: QEVD-FIT-COACH is train, QEVD-FIT-COACH-Benchmark is test (separate directories)."
EXERCISE = "qevd_workout"


def _split_of(name: str) -> tuple[int, str]:
    parts = [p.lower() for p in PurePosixPath(name).parts]
    if any("benchmark" in p for p in parts):
        return 2, "benchmark"
    return 0, "train"


def utterances(feedbacks: list[str]) -> list[tuple[int, str]]:
    """(first frame, text) of every run of one non-empty string."""
    out = []
    previous = ""
    for frame, text in enumerate(feedbacks):
        if text and text != previous:
            out.append((frame, text))
        previous = text
    return out


def parse(files, options: dict) -> ParsedImport:
    parsed = ParsedImport(format="qevd", split_rule="none", split_rule_detail=SPLIT_RULE_DETAIL,
                          license="LicenseRef-QEVD", description="QEVD-FIT-COACH long-range feedback, imported.")
    default_fps = option_fps(options)
    label_files = files.named(lambda n: PurePosixPath(n).name == "feedbacks_long_range.json")
    if not label_files:
        refuse("no_labels", "No feedbacks_long_range.json was given")
    npys = {n: p for n, p in files.files.items() if n.endswith(".npy")}
    entries = []
    parsed.exercises[EXERCISE] = {"name": "QEVD workout", "joint_count": 26, "dims": 2, "skeleton_layout": "none"}
    for name, path in label_files:
        split, tag = _split_of(name)
        base = PurePosixPath(name).parent
        records = read_json(path, name=name)
        if not isinstance(records, list):
            refuse("wrong_structure", "Expected a JSON list of workout records", file=name)
        for i, record in enumerate(records):
            where = f"[{i}]"
            if not isinstance(record, dict):
                refuse("wrong_structure", "Expected an object", file=name, field=where)
            missing = sorted({"long_range_video_file", "feedbacks", "feedback_timestamps", "is_transition"} - set(record))
            if missing:
                refuse("wrong_columns", f"Missing key(s) {missing}", file=name, field=where)
            video = check_name(str(record["long_range_video_file"]), what="video path", file=name)
            feedbacks = record["feedbacks"]
            if not isinstance(feedbacks, list) or not all(isinstance(t, str) for t in feedbacks) or not feedbacks:
                refuse("wrong_structure", "feedbacks must be a non-empty list of strings (one per frame)",
                       file=name, field=f"{where}.feedbacks")
            spans = utterances(feedbacks)
            stamps = record["feedback_timestamps"]
            if not isinstance(stamps, list) or len(stamps) != len(spans):
                refuse("feedback_count_mismatch", f"{len(spans)} feedback spans but "
                       f"{len(stamps) if isinstance(stamps, list) else '?'} feedback_timestamps", file=name,
                       field=f"{where}.feedback_timestamps")
            fps, origin = default_fps, None
            ts_name = record.get("video_timestamps")
            if ts_name:
                check_name(str(ts_name), what="timestamps path", file=name)
                key = str(base / ts_name)
                if key in npys:
                    ts = read_npy(npys[key], name=key)
                    if ts.ndim != 1 or ts.shape[0] != len(feedbacks) or ts.dtype.kind not in "iuf":
                        refuse("timestamp_mismatch", f"{ts.shape} timestamps for {len(feedbacks)} frames", file=key)
                    seconds = ts.astype(np.float64) / 1e9 + QEVD_CLOCK_OFFSET_S
                    if ts.shape[0] > 1 and seconds[-1] > seconds[0]:
                        fps = (ts.shape[0] - 1) / (seconds[-1] - seconds[0])
                    origin = float(seconds[0])
            stem = check_id(PurePosixPath(video).stem, file=name, field=where)
            clip_id = f"{tag}-{stem}"
            if origin is not None:
                for (frame, _), t in zip(spans, stamps):
                    if not isinstance(t, (int, float)) or abs((t - origin) - frame / fps) > 1.0:
                        parsed.warn(f"{clip_id}: feedback timestamp {t} is not at its frame {frame}", clip=clip_id)
                        break
            parsed.clips.append(ParsedClip(
                external_id=clip_id, exercise=EXERCISE, fps=float(fps), frame_count=len(feedbacks), source="qevd",
                feedback=[(frame, text, "A001") for frame, text in spans]))
            entries.append((clip_id, split))
            if origin is None:
                parsed.warn(f"{clip_id}: no video timestamps; fps {fps} assumed", clip=clip_id)
    parsed.split_entries = entries
    parsed.details = {"clock_offset_s": QEVD_CLOCK_OFFSET_S}
    return parsed
