"""``qevd``: QEVD-FIT-COACH-style ``feedbacks_long_range.json`` per split (formats.md §2.1).

Layout: ``<split>/feedbacks_long_range.json`` and ``<split>/long_range_videos/<clip>_timestamps.npy``.
Each record has the official loader's keys (``long_range_video_file``, ``video_timestamps``,
``feedbacks``, ``feedback_timestamps``, ``is_transition``):

- ``feedbacks`` is dense, one string per frame, ``""`` where no feedback is spoken; a line fills
  the frames from its mark to the next line's mark or ``qevd_span_s`` seconds, whichever is first
  (FormLab stores when a line starts, not how long it is said). Two equal adjacent lines are kept
  apart by one empty frame, because the loader merges a repeated string into one utterance.
- Timestamps: frame k is captured at ``k / fps`` seconds after the clip's start. The ``.npy``
  holds UNIX nanoseconds ``round(k / fps * 1e9)``, so the loader's ``t / 1e9 + 28800`` gives
  ``28800 + k / fps``; ``feedback_timestamps`` are on that same clock.
- ``is_transition`` marks exercise-transition lines, recognised by QEVD's wording ("First up",
  "Moving on to", ...): FormLab does not store the flag.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from datasets.exports.common import SPLIT_NAMES, offsets
from datasets.exports.files import safe_file_stem

#: QEVD's loader adds this to every converted timestamp (src/utils.py::load_video_timestamps).
QEVD_CLOCK_OFFSET_S = 28800
TRANSITION = re.compile(r"^(first up|moving on|next up|up next|let's move on|that's it|that is it|"
                        r"and that's the end|we're done)", re.IGNORECASE)


def dense_feedback(frame_count: int, fps: float, frames: list[int], texts: list[str], span_s: float):
    """(dense per-frame list, [(start frame, text)] of the spans actually written)."""
    dense = [""] * frame_count
    spans = []
    span = max(1, int(round(span_s * fps)))
    order = sorted(range(len(frames)), key=lambda i: (frames[i], i))
    last_end, last_text = -1, None
    for pos, i in enumerate(order):
        start = frames[i]
        if start >= frame_count or start < last_end:
            continue  # a line inside the previous one cannot be told apart in a dense list
        nxt = frames[order[pos + 1]] if pos + 1 < len(order) else frame_count
        end = min(start + span, max(nxt, start + 1), frame_count)
        if texts[i] == last_text and start == last_end and start > 0:
            dense[start - 1] = ""  # keep two equal lines two utterances
        for f in range(start, end):
            dense[f] = texts[i]
        spans.append((start, texts[i]))
        last_end, last_text = end, texts[i]
    return dense, spans


def write(data, out: Path, options, progress=None) -> dict:
    c, fb = data.clips, data.feedback
    off = offsets(fb["clip_row"], data.n_clips)
    frames_all, texts_all = fb["frame"].tolist(), fb["text"].tolist()
    counts = {}
    files = []
    for s, split_name in enumerate(SPLIT_NAMES):
        folder = out / split_name
        (folder / "long_range_videos").mkdir(parents=True)
        records = []
        for row in np.flatnonzero(c["split"] == s).tolist():
            fps, n = float(c["fps"][row]), int(c["frame_count"][row])
            stem = safe_file_stem(c["external_id"][row], f"clip-{c['id'][row]}")
            dense, spans = dense_feedback(n, fps, frames_all[off[row]:off[row + 1]],
                                          texts_all[off[row]:off[row + 1]], options.qevd_span_s)
            ts = np.rint(np.arange(n, dtype=np.float64) / fps * 1e9).astype(np.int64)
            ts_rel = f"long_range_videos/{stem}_timestamps.npy"
            with open(folder / ts_rel, "wb") as handle:
                np.save(handle, ts, allow_pickle=False)
            files.append(f"{split_name}/{ts_rel}")
            records.append({
                "long_range_video_file": f"long_range_videos/{stem}.mp4",
                "video_timestamps": ts_rel,
                "feedbacks": dense,
                "feedback_timestamps": [round(QEVD_CLOCK_OFFSET_S + f / fps, 6) for f, _ in spans],
                "is_transition": [bool(TRANSITION.match(t)) for _, t in spans],
            })
        with open(folder / "feedbacks_long_range.json", "w", encoding="utf-8", newline="\n") as handle:
            json.dump(records, handle, ensure_ascii=False)
        files.append(f"{split_name}/feedbacks_long_range.json")
        counts[split_name] = len(records)
    return {"records": counts, "files": files}
