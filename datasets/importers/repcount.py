"""RepCount-A (TransRAC) cycle annotations: ``new_{train,valid,test}.csv`` (formats.md §5).

Header ``,Unnamed: 0,type,name,count,L1..L302`` (the first two columns are pandas index
artifacts). ``L1..Ln`` are frame indices in pairs, (L1, L2) the start and end of cycle 1, and so
on; unused cells are empty and values are written as floats (``60.0``).

Quirks kept, not fixed (README of ``realdata/TransRAC``):

- class typos and synonyms (``squant``, ``pullups``/``pull_up``, ...) are mapped to one exercise
  slug; the map actually used is recorded in the import's ``details``;
- ``count`` can differ from the number of pairs (``test118.mp4``: 6 vs 5): the pairs are kept and
  the mismatch is recorded as a warning, neither value is trusted silently;
- 73 % of boundaries are shared (end of cycle i = start of cycle i+1): kept as given.

The three files define the open-set split, which is disjoint by action category and has no
participant ids: it is imported as a split version following the ``exercise`` rule, which is
verified. Videos are not part of the files, so the frame rate is ``--fps`` (default 30) and the
clip length is ``--clip-info`` or, failing that, the last annotated frame + 1.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from datasets.importers.common import clip_info, csv_rows, number, option_fps
from datasets.importers.parsed import ParsedClip, ParsedImport
from datasets.importers.safety import check_id, check_name, read_text, refuse

TYPE_ALIASES = {
    "squant": "squat", "squat": "squat", "squats": "squat",
    "pullups": "pull_up", "pullup": "pull_up", "pull_up": "pull_up",
    "pushups": "push_up", "pushup": "push_up", "push_up": "push_up",
    "jumpjacks": "jump_jack", "jumpjack": "jump_jack", "jump_jack": "jump_jack",
    "frontraise": "front_raise", "front_raise": "front_raise",
    "benchpressing": "bench_pressing", "bench_pressing": "bench_pressing",
    "situp": "situp", "sit_up": "situp", "situps": "situp",
    "pommelhorse": "pommelhorse", "pommel_horse": "pommelhorse",
    "battle_rope": "battle_rope", "battlerope": "battle_rope",
    "others": "others",
}
INDEX_COLUMNS = ("", "Unnamed: 0")
SPLIT_RULE_DETAIL = ("RepCount-A open set: train, valid and test hold disjoint action categories "
                     "(TransRAC open_set/readme.md); there are no participant ids.")
LICENSE = "Apache-2.0"


def split_of_file(name: str):
    stem = PurePosixPath(name).name.lower()
    if "train" in stem:
        return 0
    if "valid" in stem or re.search(r"(^|[_-])val", stem):
        return 1
    if "test" in stem:
        return 2
    return None


def normalise_type(raw: str) -> str:
    key = re.sub(r"[\s-]+", "_", raw.strip().lower())
    return TYPE_ALIASES.get(key, TYPE_ALIASES.get(key.replace("_", ""), key))


def _header(row: list[str], name: str) -> int:
    """Check the column set; return the index of ``type``."""
    cells = [c.strip() for c in row]
    start = 0
    while start < len(cells) and cells[start] in INDEX_COLUMNS and start < 2:
        start += 1
    fixed = cells[start:start + 3]
    cycles = cells[start + 3:]
    expected = [f"L{i}" for i in range(1, len(cycles) + 1)]
    if fixed != ["type", "name", "count"] or not cycles or cycles != expected:
        refuse("wrong_columns", "Expected the columns [,Unnamed: 0,]type,name,count,L1..Ln; got "
               f"{','.join(cells[:8])}{',...' if len(cells) > 8 else ''}", file=name, line=1)
    return start


def parse(files, options: dict) -> ParsedImport:
    parsed = ParsedImport(format="repcount_a", split_rule="exercise", split_rule_detail=SPLIT_RULE_DETAIL,
                          license=LICENSE, description="RepCount-A repetition cycles (TransRAC), imported.")
    fps = option_fps(options)
    lengths = clip_info(options)
    csvs = files.named(lambda n: n.lower().endswith(".csv"))
    if not csvs or len(csvs) != len(files.files):
        refuse("wrong_file_type", "RepCount-A imports take .csv files only", file=", ".join(files.files))
    aliases = {}
    entries = []
    for name, path in csvs:
        rows = csv_rows(read_text(path, name=name), name=name)
        if not rows:
            refuse("wrong_columns", "The file is empty", file=name, line=1)
        start = _header(rows[0], name)
        width = len(rows[0])
        split = split_of_file(name)
        for line, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            if len(row) != width:
                refuse("wrong_columns", f"Expected {width} cells, got {len(row)}", file=name, line=line)
            raw_type, video, count = row[start], row[start + 1], row[start + 2]
            exercise = normalise_type(raw_type)
            if not re.fullmatch(r"[a-z0-9][a-z0-9_]{0,63}", exercise):
                refuse("invalid_type", f"Unusable action class {raw_type!r}", file=name, line=line, field="type")
            aliases.setdefault(raw_type, exercise)
            check_name(video.strip(), what="video name", file=name, line=line)
            clip_id = check_id(PurePosixPath(video.strip()).stem or video, file=name, line=line)
            declared = int(number(count, file=name, line=line, field="count", integral=True))
            cells = [c.strip() for c in row[start + 3:]]
            filled = [i for i, c in enumerate(cells) if c]
            n_values = (filled[-1] + 1) if filled else 0
            if len(filled) != n_values:
                refuse("invalid_cycles", "Cycle cells have a gap", file=name, line=line, field=f"L{n_values}")
            if n_values % 2:
                refuse("invalid_cycles", f"{n_values} frame values: an odd number cannot form (start, end) pairs",
                       file=name, line=line, field=f"L{n_values}")
            values = [number(cells[i], file=name, line=line, field=f"L{i + 1}", integral=True) for i in range(n_values)]
            pairs = []
            for k in range(0, n_values, 2):
                s, e = values[k], values[k + 1]
                if s < 0 or e < 0:
                    refuse("negative_segment", f"Cycle {k // 2 + 1} has a negative frame", file=name, line=line,
                           field=f"L{k + 1}")
                if e < s:
                    refuse("reversed_segment", f"Cycle {k // 2 + 1} ends ({e:g}) before it starts ({s:g})",
                           file=name, line=line, field=f"L{k + 2}")
                if pairs and s < pairs[-1][1]:
                    parsed.warn(f"{clip_id}: cycle {k // 2 + 1} starts before cycle {k // 2} ends", clip=clip_id)
                pairs.append((s, e))
            if declared != len(pairs):
                parsed.warn(f"{clip_id}: count column says {declared} but {len(pairs)} (start, end) pairs are "
                            "annotated; the pairs are kept", clip=clip_id, declared_count=declared, pairs=len(pairs),
                            file=name, line=line)
            clip_fps, frames = fps, int(max((e for _, e in pairs), default=0)) + 1
            if lengths is not None:
                if clip_id not in lengths:
                    refuse("unknown_clip", f"{clip_id} is missing from --clip-info", file=name, line=line)
                clip_fps, frames = lengths[clip_id]
            parsed.clips.append(ParsedClip(external_id=clip_id, exercise=exercise, fps=clip_fps, frame_count=frames,
                                           source="repcount_a", reps=pairs))
            parsed.exercises.setdefault(exercise, {"name": exercise.replace("_", " ").title(), "joint_count": 26,
                                                   "dims": 2, "skeleton_layout": "none"})
            if split is not None:
                entries.append((clip_id, split))
    parsed.split_entries = entries or None
    parsed.details = {"type_aliases": dict(sorted(aliases.items())), "fps_assumed": lengths is None,
                      "shared_boundaries": _shared(parsed)}
    return parsed


def _shared(parsed) -> float:
    shared = total = 0
    for clip in parsed.clips:
        for (_, e), (s, _) in zip(clip.reps, clip.reps[1:]):
            total += 1
            shared += e == s
    return round(shared / total, 4) if total else 0.0
