"""What a parser hands to the writer: a whole import, validated, in plain Python.

Times are already frames of the clip (parsers convert seconds at the edge, with the clip's fps).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ParsedClip:
    external_id: str
    exercise: str                       # exercise slug
    fps: float
    frame_count: int
    participant: str | None = None
    source: str = ""
    # (start frame, end frame) per repetition, in order; fractional when the source is a consensus.
    reps: list[tuple[float, float]] = field(default_factory=list)
    # (repetition index, error code, vote histogram [n0, n1, n2, n3]).
    severity: list[tuple[int, str, list[int]]] = field(default_factory=list)
    # (error code, start frame, end frame).
    segments: list[tuple[str, int, int, str]] = field(default_factory=list)  # + annotator pseudonym
    # (frame, text, annotator pseudonym).
    feedback: list[tuple[int, str, str]] = field(default_factory=list)
    pose: np.ndarray | None = None


@dataclass
class ParsedImport:
    format: str
    clips: list[ParsedClip] = field(default_factory=list)
    # slug -> {"name", "joint_count", "dims", "skeleton_layout"}
    exercises: dict = field(default_factory=dict)
    # (exercise slug, code) -> {"description", "generic_name"}
    error_types: dict = field(default_factory=dict)
    # external id -> skill level (or None)
    participants: dict = field(default_factory=dict)
    # [(clip external id, split code)] or None when the files carry no split
    split_entries: list | None = None
    split_rule: str = "participant"
    split_rule_detail: str = ""
    warnings: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    license: str = ""
    dataset_kind: str = "generic"
    description: str = ""

    def warn(self, message: str, **extra) -> None:
        self.warnings.append({"message": message, **extra})
