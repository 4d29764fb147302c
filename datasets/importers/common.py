"""Helpers the format parsers share: numbers with a location, import options, clip lengths."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from datasets.importers.safety import check_id, read_text, refuse

DEFAULT_FPS = 30.0


def number(value, *, file, line=None, field=None, integral=False) -> float:
    """A finite number parsed from a cell; ``integral`` also refuses 60.5 (``60.0`` is fine)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        refuse("invalid_number", f"Expected a number, got {value!r}", file=file, line=line, field=field)
    if not math.isfinite(out):
        refuse("invalid_number", f"Expected a finite number, got {value!r}", file=file, line=line, field=field)
    if integral and out != int(out):
        refuse("invalid_number", f"Expected a whole frame index, got {value!r}", file=file, line=line, field=field)
    return out


def option_fps(options: dict, default: float = DEFAULT_FPS) -> float:
    raw = options.get("fps")
    if raw in (None, ""):
        return default
    fps = number(raw, file="--fps", field="fps")
    if fps <= 0:
        refuse("invalid_fps", "fps must be positive", field="fps")
    return fps


def csv_rows(text: str, *, name: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        refuse("invalid_csv", f"Malformed CSV: {exc}", file=name)


def clip_info(options: dict) -> dict[str, tuple[float, int]] | None:
    """Optional ``--clip-info`` CSV ``clip_id,fps,frame_count``: the real length of each clip.

    Public label files rarely say how long a clip is; with this file, every time is checked
    against the clip's end.
    """
    path = options.get("clip_info")
    if not path:
        return None
    path = Path(path)
    name = path.name
    if not path.is_file():
        refuse("file_not_found", f"{path} does not exist", file=name)
    rows = csv_rows(read_text(path, name=name), name=name)
    if not rows or [c.strip() for c in rows[0]] != ["clip_id", "fps", "frame_count"]:
        refuse("wrong_columns", "Expected the header clip_id,fps,frame_count", file=name, line=1)
    out = {}
    for i, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 3:
            refuse("wrong_columns", f"Expected 3 cells, got {len(row)}", file=name, line=i)
        clip = check_id(row[0], file=name, line=i)
        fps = number(row[1], file=name, line=i, field="fps")
        frames = number(row[2], file=name, line=i, field="frame_count", integral=True)
        if fps <= 0 or frames < 1:
            refuse("invalid_number", "fps and frame_count must be positive", file=name, line=i)
        out[clip] = (fps, int(frames))
    return out
