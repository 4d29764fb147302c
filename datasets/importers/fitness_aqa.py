"""Fitness-AQA error labels and split key lists (formats.md §3).

- ``Labels/error_<name>.json``: ``{"<video_id>": [[start_s, end_s], ...]}``, seconds from the
  clip start; ``[]`` means the error is absent (it is a label, not a gap). The error name comes
  from the file name (``error_knees_forward.json`` -> ``knees_forward``).
- ``Splits/{train,val,test}_keys.json``: JSON lists of video ids. Every id they name must be a
  labelled clip.
- The exercise comes from ``--exercise`` or from the path (``Squat/...``, ``OHP/...``).

Seconds become frames at the edge: ``round(t * fps)`` with ``--fps`` (default 30, the dataset's
rate) or the per-clip rate of ``--clip-info``; with ``--clip-info`` every segment is checked
against the clip's end, without it the clip length is taken as the last segment end + 1 frame.
The key lists are not documented as participant-disjoint and carry no participant ids: the
split is imported under the ``none`` rule unless ``--split-rule id_prefix`` asks to verify that
no source video (the id before its last ``_``) spans two splits.
"""
from __future__ import annotations

import math
import re
from pathlib import PurePosixPath

from datasets.importers.common import clip_info, number, option_fps
from datasets.importers.parsed import ParsedClip, ParsedImport
from datasets.importers.safety import check_id, read_json, refuse

EXERCISES = {"squat": "Squat", "ohp": "Overhead Press (OHP)", "barbellrow": "Barbell Row"}
SPLIT_RULE_DETAIL = "Fitness-AQA Splits/{train,val,test}_keys.json: fixed id lists (not documented as participant-disjoint)."
LICENSE = "CC-BY-NC-4.0"
KEY_FILE = re.compile(r"(train|val|test)_(keys|ids)\.json$", re.IGNORECASE)
LABEL_FILE = re.compile(r"error_([a-z0-9_]+)\.json$", re.IGNORECASE)


def _exercise_of(name: str, options: dict) -> str:
    if options.get("exercise"):
        return str(options["exercise"]).strip().lower()
    parts = [p.lower() for p in PurePosixPath(name).parts]
    for slug in EXERCISES:
        if slug in parts:
            return slug
    refuse("exercise_required", "Cannot tell the exercise from the path; pass --exercise squat|ohp", file=name)


def parse(files, options: dict) -> ParsedImport:
    parsed = ParsedImport(format="fitness_aqa", split_rule="none", split_rule_detail=SPLIT_RULE_DETAIL,
                          license=LICENSE, description="Fitness-AQA error segments, imported.")
    fps = option_fps(options)
    lengths = clip_info(options)
    label_files = files.named(lambda n: LABEL_FILE.search(PurePosixPath(n).name) is not None)
    key_files = files.named(lambda n: KEY_FILE.search(PurePosixPath(n).name) is not None)
    other = sorted(set(files.files) - {n for n, _ in label_files} - {n for n, _ in key_files})
    if other:
        refuse("wrong_file_type", "Expected error_<name>.json label files and {train,val,test}_keys.json lists",
               file=", ".join(other[:5]))
    if not label_files:
        refuse("no_labels", "No error_<name>.json label file was given")
    segments: dict[str, dict[str, list[tuple[float, float]]]] = {}
    exercise_of_clip: dict[str, str] = {}
    for name, path in label_files:
        error = LABEL_FILE.search(PurePosixPath(name).name).group(1).lower()
        exercise = _exercise_of(name, options)
        data = read_json(path, name=name)
        if not isinstance(data, dict):
            refuse("wrong_structure", "Expected an object {video_id: [[start, end], ...]}", file=name)
        parsed.error_types[(exercise, error)] = {"description": error.replace("_", " "), "generic_name": error}
        for video_id, spans in data.items():
            clip_id = check_id(video_id, file=name, field=f"{video_id}")
            if exercise_of_clip.setdefault(clip_id, exercise) != exercise:
                refuse("conflicting_exercise", f"{clip_id} is labelled under two exercises", file=name, field=clip_id)
            if not isinstance(spans, list):
                refuse("wrong_structure", "Expected a list of [start, end] pairs", file=name, field=clip_id)
            pairs = []
            for k, pair in enumerate(spans):
                where = f"{clip_id}[{k}]"
                if not isinstance(pair, list) or len(pair) != 2 or any(isinstance(v, bool) for v in pair):
                    refuse("wrong_structure", "Expected [start_s, end_s]", file=name, field=where)
                s, e = (number(v, file=name, field=where) for v in pair)
                if s < 0 or e < 0:
                    refuse("negative_segment", f"Segment ({s}, {e}) is negative", file=name, field=where)
                if e < s:
                    refuse("reversed_segment", f"Segment ends ({e}) before it starts ({s})", file=name, field=where)
                pairs.append((s, e))
            segments.setdefault(clip_id, {})[error] = pairs
    errors_of = {}
    for (exercise, error) in parsed.error_types:
        errors_of.setdefault(exercise, set()).add(error)
    for clip_id in sorted(segments):
        exercise = exercise_of_clip[clip_id]
        missing = sorted(errors_of[exercise] - set(segments[clip_id]))
        if missing:
            parsed.warn(f"{clip_id}: no label for {', '.join(missing)} (not the same as no error)", clip=clip_id)
        clip_fps = fps
        spans = [(err, s, e) for err, pairs in sorted(segments[clip_id].items()) for s, e in pairs]
        if lengths is not None:
            if clip_id not in lengths:
                refuse("unknown_clip", f"{clip_id} is missing from --clip-info", file="--clip-info", field=clip_id)
            clip_fps, frames = lengths[clip_id]
        else:
            frames = int(math.floor(max((e for _, _, e in spans), default=0.0) * clip_fps)) + 1
        clip_segments = []
        for err, s, e in spans:
            sf, ef = int(round(s * clip_fps)), int(round(e * clip_fps))
            if ef > frames:
                refuse("end_past_clip", f"{clip_id}: {err} ends at {e} s, past the clip's {frames / clip_fps:.2f} s",
                       field=clip_id)
            clip_segments.append((err, sf, ef, "A001"))
        parsed.clips.append(ParsedClip(external_id=clip_id, exercise=exercise, fps=clip_fps, frame_count=frames,
                                       source="fitness_aqa", segments=clip_segments))
        parsed.exercises.setdefault(exercise, {"name": EXERCISES.get(exercise, exercise.title()), "joint_count": 26,
                                               "dims": 2, "skeleton_layout": "none"})
    entries = []
    labelled = set(segments)
    for name, path in key_files:
        split = {"train": 0, "val": 1, "test": 2}[KEY_FILE.search(PurePosixPath(name).name).group(1).lower()]
        keys = read_json(path, name=name)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            refuse("wrong_structure", "Expected a JSON list of video ids", file=name)
        unknown = sorted({k for k in keys if k not in labelled})
        if unknown:
            refuse("unknown_clips", f"The split names {len(unknown)} clip(s) with no label: {', '.join(unknown[:20])}",
                   file=name, extra={"clips": unknown[:1000]})
        entries += [(check_id(k, file=name), split) for k in keys]
    parsed.split_entries = entries or None
    parsed.details = {"fps_assumed": lengths is None, "time_unit_in_files": "seconds"}
    return parsed
