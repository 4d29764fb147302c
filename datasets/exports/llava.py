"""``llava``: LLaVA-Video fine-tuning conversations, as UMAP25 built them (seeds 001 and 004).

One JSON list per split (``train.json``, ``val.json``, ``test.json``, indent 2). A record::

    {"id": "33053_1",
     "conversations": [{"from": "human", "value": "<image>\\nThe video lasts for 3.10 seconds, and 8 frames
                        are uniformly sampled at 0.00s, ..., and 3.07s.\\nThe subject is performing a Squat
                        or a Overhead Press (OHP) exercise. Which one is he making? ..."},
                       {"from": "gpt", "value": "The subject is performing a Squat. The body parts committing
                        errors are the following: knees forward from frame time 3.09s to 5.63s and ..."}],
     "data_source": ["<dataset>_<split>"],
     "video": "videos/33053_1.mp4"}

- Answers follow the three templates of seed 001 §2.3 (no error / one error / two errors; more
  errors are joined with ", " and " and "), each error with its interval "from frame time
  {start:.2f}s to {end:.2f}s" (seconds, two decimals: the UMAP25 evaluation regex needs the dot).
- An error's interval is one span per error (UMAP25 ``calculate_min_max``): the earliest start
  and latest end of its segments; without segments, the first to last repetition whose class is
  >= 1 for that error type.
- The time instruction is LLaVA-Video's: duration = frame_count / fps, and ``llava_frames``
  frame times at ``np.linspace(0, frame_count - 1, n).astype(int) / fps`` (the seed's "3.10 s, 8
  frames at 0.00s, 0.43s, ..., 3.07s" is exactly a 93-frame clip at 30 fps).
- ``data_source`` is a one-element list, as in UMAP25's files (a trailing comma in its builder).
- Balanced copies rewrite ``video`` to ``<prefix>_<augmentation>/...`` and keep the same ``id``;
  they also carry ``"augmentation"``. The augmented videos themselves are the consumer's to render.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import numpy as np

from datasets.exports.balancing import VIDEO_AUGMENTATIONS
from datasets.exports.common import SPLIT_NAMES, mirrored_codes, row_plan
from datasets.exports.files import safe_file_stem

NO_ERROR = "The subject is performing a {exercise}. He performs it correctly, without any subtle errors."
ONE_ERROR = "The subject is performing a {exercise}. The body part committing errors is the following: {errors}."
TWO_ERRORS = "The subject is performing a {exercise}. The body parts committing errors are the following: {errors}."
QUESTION = ("The subject is performing {choices} exercise. Which one is he making? Is he making a mistake? "
            "If so, what mistake is he making?")


def time_instruction(frame_count: int, fps: float, n_frames: int) -> str:
    """LLaVA-Video's time instruction, worded as in seed 001 §2.3."""
    n = max(1, min(int(n_frames), int(frame_count)))
    times = np.linspace(0, frame_count - 1, n).astype(int) / fps
    stamps = [f"{t:.2f}s" for t in times]
    listed = stamps[0] if n == 1 else ", ".join(stamps[:-1]) + f", and {stamps[-1]}"
    return (f"The video lasts for {frame_count / fps:.2f} seconds, and {n} frames are uniformly sampled at "
            f"{listed}.")


def error_phrase(code: str, exercise_slug: str) -> str:
    """``squat__knees_forward`` -> ``knees forward`` (exercise prefix dropped, underscores to spaces)."""
    name = code.split("__", 1)[1] if code.startswith(f"{exercise_slug}__") else code
    return name.replace("_", " ").strip()


def answer(exercise_name: str, errors: list[tuple[str, float, float]]) -> str:
    if not errors:
        return NO_ERROR.format(exercise=exercise_name)
    parts = [f"{name} from frame time {start:.2f}s to {end:.2f}s" for name, start, end in errors]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (ONE_ERROR if len(parts) == 1 else TWO_ERRORS).format(exercise=exercise_name, errors=joined)


def clip_errors(data) -> list[list[tuple[str, float, float]]]:
    """Per clip: (error code, start frame, end frame) per present error, sorted by code."""
    n = data.n_clips
    spans: list[dict] = [{} for _ in range(n)]
    seg = data.segments
    for row, code, s, e in zip(seg["clip_row"].tolist(), seg["error_code"].tolist(), seg["start_frame"].tolist(),
                               seg["end_frame"].tolist()):
        lo, hi = spans[row].get(code, (s, e))
        spans[row][code] = (min(lo, s), max(hi, e))
    from_segments = [bool(x) for x in spans]
    lab, reps = data.labels, data.reps
    hit = np.flatnonzero(lab["cls"] >= 1)
    rows = reps["clip_row"][lab["rep_row"][hit]]
    starts = reps["start_frame"][lab["rep_row"][hit]]
    ends = reps["end_frame"][lab["rep_row"][hit]]
    for row, code, s, e in zip(rows.tolist(), lab["error_code"][hit].tolist(), starts.tolist(), ends.tolist()):
        if from_segments[row] or s != s or e != e:  # segments win; NaN bounds cannot be placed in time
            continue
        lo, hi = spans[row].get(code, (s, e))
        spans[row][code] = (min(lo, s), max(hi, e))
    return [sorted((code, lo, hi) for code, (lo, hi) in d.items()) for d in spans]


def write(data, out: Path, options, progress=None) -> dict:
    plan = row_plan(data, options, augmentations=VIDEO_AUGMENTATIONS)
    c = data.clips
    errors = clip_errors(data)
    swap = mirrored_codes(data)
    names = sorted(set(c["exercise_name"].tolist()))
    choices = " or ".join(f"a {name}" for name in names) if names else "an"
    question = QUESTION.format(choices=choices)
    records = {s: [] for s in range(3)}
    for row, aug in zip(plan.source.tolist(), plan.augmentation.tolist()):
        fps, n_frames = float(c["fps"][row]), int(c["frame_count"][row])
        slug = c["exercise_slug"][row]
        mirrored = "horizontal_flip" in aug
        errs = [(error_phrase(swap[code] if mirrored else code, slug), s / fps, e / fps)
                for code, s, e in errors[row]]
        errs.sort()
        prompt = "<image>\n"
        if options.time_instruction:
            prompt += time_instruction(n_frames, fps, options.llava_frames) + "\n"
        prompt += question
        # Videos are named after the clip id (what a curator copies into --video_folder), keeping
        # a stored video's extension.
        suffix = PurePosixPath(c["video_file"][row]).suffix or ".mp4"
        video_name = safe_file_stem(c["external_id"][row], f"clip-{c['id'][row]}") + suffix
        folder = options.video_prefix + (f"_{aug.split('#')[0]}" if aug else "")
        record = {
            "id": c["external_id"][row],
            "conversations": [{"from": "human", "value": prompt},
                              {"from": "gpt", "value": answer(c["exercise_name"][row], errs)}],
            "data_source": [f"{data.dataset.name}_{SPLIT_NAMES[c['split'][row]]}"],
            "video": f"{folder}/{video_name}",
        }
        if aug:
            record["augmentation"] = aug
        records[int(c["split"][row])].append(record)
    counts = {}
    files = []
    for s, name in enumerate(SPLIT_NAMES):
        with open(out / f"{name}.json", "w", encoding="utf-8", newline="\n") as handle:
            json.dump(records[s], handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        counts[name] = len(records[s])
        files.append(f"{name}.json")
    return {"records": counts, "files": files}
