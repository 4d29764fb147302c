"""FormLab's own ``jsonl`` export, read back (``train.jsonl``, ``val.jsonl``, ``test.jsonl``).

Each line is one clip (see ``datasets.exports.jsonl``). Repetition bounds become imported spans,
vote histograms become one vote per pseudo-annotator (so mean, majority and histogram come back
unchanged), segments and feedback keep their annotator pseudonyms, ``pose/<clip>.npy`` files
given alongside are stored. Augmented copies (``augmentation`` set) are skipped: they are
derived rows, not data. ``README.md`` and ``manifest.json`` of the export are ignored.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import PurePosixPath

from datasets.importers.parsed import ParsedClip, ParsedImport
from datasets.importers.safety import check_id, check_name, read_npy, read_text, refuse

SPLITS = {"train": 0, "val": 1, "test": 2}
IGNORED = ("README.md", "manifest.json")
PSEUDONYM = re.compile(r"^A\d{3,6}$")


def _num(value, *, name, line, field, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        refuse("invalid_number", f"Expected a number, got {value!r}", file=name, line=line, field=field)
    return value


def _int(value, *, name, line, field):
    if isinstance(value, bool) or not isinstance(value, int):
        refuse("invalid_number", f"Expected an integer, got {value!r}", file=name, line=line, field=field)
    return value


def _pseudonym(value, *, name, line, field) -> str:
    if not isinstance(value, str) or not PSEUDONYM.match(value):
        refuse("invalid_annotator", f"Expected an annotator pseudonym like A001, got {value!r}", file=name, line=line,
               field=field)
    return value


def parse(files, options: dict) -> ParsedImport:
    parsed = ParsedImport(format="jsonl", split_rule="participant", description="Imported from a FormLab jsonl export.")
    poses = {PurePosixPath(n).name: p for n, p in files.files.items() if n.endswith(".npy")}
    lines = [(n, p) for n, p in files.files.items() if n.endswith(".jsonl")]
    other = sorted(n for n in files.files if not n.endswith((".jsonl", ".npy")) and PurePosixPath(n).name not in IGNORED)
    if other:
        refuse("wrong_file_type", "Expected .jsonl files (and pose .npy files)", file=", ".join(other[:5]))
    if not lines:
        refuse("no_labels", "No .jsonl file was given")
    entries = []
    for name, path in lines:
        for line, text in enumerate(read_text(path, name=name).split("\n"), start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                refuse("invalid_json", f"Invalid JSON: {exc.msg}", file=name, line=line, field=f"column {exc.colno}")
            if not isinstance(record, dict):
                refuse("wrong_structure", "Each line must be a JSON object", file=name, line=line)
            if record.get("augmentation"):
                parsed.warn(f"{record.get('clip_id')}: augmented copy ({record['augmentation']}) skipped")
                continue
            clip = _clip(record, name=name, line=line, parsed=parsed, poses=poses)
            parsed.clips.append(clip)
            entries.append((clip.external_id, SPLITS[record["split"]]))
    parsed.split_entries = entries
    return parsed


def _clip(record: dict, *, name, line, parsed: ParsedImport, poses) -> ParsedClip:
    required = ("clip_id", "split", "exercise", "fps", "frame_count", "repetitions")
    missing = [k for k in required if k not in record]
    if missing:
        refuse("wrong_columns", f"Missing field(s) {missing}", file=name, line=line, field=missing[0])
    clip_id = check_id(record["clip_id"], file=name, line=line)
    if record["split"] not in SPLITS:
        refuse("unknown_split_name", f"Unknown split {record['split']!r}", file=name, line=line, field="split")
    exercise = str(record["exercise"])
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", exercise):
        refuse("invalid_exercise", f"Unusable exercise slug {exercise!r}", file=name, line=line, field="exercise")
    parsed.exercises.setdefault(exercise, {"name": str(record.get("exercise_name") or exercise), "joint_count": 26,
                                           "dims": 2, "skeleton_layout": "halo26"})
    participant = record.get("participant")
    if participant is not None:
        participant = check_id(participant, what="participant id", file=name, line=line)
        skill = record.get("skill_level")
        if skill is not None and (not isinstance(skill, int) or not 0 <= skill <= 2):
            refuse("invalid_number", f"skill_level must be 0, 1, 2 or null, got {skill!r}", file=name, line=line,
                   field="skill_level")
        parsed.participants[participant] = skill
    fps = _num(record["fps"], name=name, line=line, field="fps")
    frames = _int(record["frame_count"], name=name, line=line, field="frame_count")
    reps, severity = [], []
    if not isinstance(record["repetitions"], list):
        refuse("wrong_structure", "repetitions must be a list", file=name, line=line, field="repetitions")
    for k, rep in enumerate(record["repetitions"]):
        field = f"repetitions[{k}]"
        if not isinstance(rep, dict) or rep.get("index") != k:
            refuse("wrong_structure", "Repetitions must be objects with index 0, 1, 2... in order", file=name,
                   line=line, field=field)
        start = _num(rep.get("start_frame"), name=name, line=line, field=f"{field}.start_frame", allow_none=True)
        end = _num(rep.get("end_frame"), name=name, line=line, field=f"{field}.end_frame", allow_none=True)
        reps.append((start, end))
        labels = rep.get("labels") or {}
        if not isinstance(labels, dict):
            refuse("wrong_structure", "labels must be an object", file=name, line=line, field=f"{field}.labels")
        for code, label in sorted(labels.items()):
            where = f"{field}.labels.{code}"
            if not isinstance(label, dict):
                refuse("wrong_structure", "A label must be an object", file=name, line=line, field=where)
            parsed.error_types.setdefault((exercise, code), {"description": code.replace("_", " ")})
            votes = label.get("votes")
            if votes is None:
                cls = label.get("severity_class")
                if not isinstance(cls, int) or not 0 <= cls <= 3:
                    refuse("invalid_votes", "A label needs votes [n0..n3] or a severity_class 0-3", file=name,
                           line=line, field=where)
                votes = [int(cls == c) for c in range(4)]
                parsed.warn(f"{clip_id}: label-set label of {code} imported as one vote of class {cls}")
            if (not isinstance(votes, list) or len(votes) != 4
                    or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in votes)):
                refuse("invalid_votes", "votes must be four non-negative counts", file=name, line=line, field=where)
            severity.append((k, code, votes))
    segments = []
    for j, seg in enumerate(record.get("segments") or []):
        where = f"segments[{j}]"
        if not isinstance(seg, dict) or not isinstance(seg.get("error_type"), str):
            refuse("wrong_structure", "A segment needs error_type, start_frame, end_frame", file=name, line=line,
                   field=where)
        parsed.error_types.setdefault((exercise, seg["error_type"]), {"description": seg["error_type"]})
        segments.append((seg["error_type"], _int(seg.get("start_frame"), name=name, line=line, field=f"{where}.start_frame"),
                         _int(seg.get("end_frame"), name=name, line=line, field=f"{where}.end_frame"),
                         _pseudonym(seg.get("annotator", "A001"), name=name, line=line, field=f"{where}.annotator")))
    feedback = []
    for j, note in enumerate(record.get("feedback") or []):
        where = f"feedback[{j}]"
        if not isinstance(note, dict) or not isinstance(note.get("text"), str):
            refuse("wrong_structure", "A feedback line needs frame and text", file=name, line=line, field=where)
        feedback.append((_int(note.get("frame"), name=name, line=line, field=f"{where}.frame"), note["text"],
                         _pseudonym(note.get("annotator", "A001"), name=name, line=line, field=f"{where}.annotator")))
    pose = None
    if record.get("pose"):
        rel = check_name(str(record["pose"]), what="pose path", file=name, line=line)
        if PurePosixPath(rel).name in poses:
            pose = read_npy(poses[PurePosixPath(rel).name], name=rel)
            if pose.ndim != 3 or pose.shape[2] not in (2, 3) or pose.dtype.kind not in "fiu":
                refuse("pose_shape", f"Expected a (frames, joints, 2 or 3) array, got {pose.shape}", file=rel)
            spec = parsed.exercises[exercise]
            if spec.get("_pose_seen") and (spec["joint_count"], spec["dims"]) != pose.shape[1:]:
                refuse("pose_shape", f"{exercise}: poses of different skeletons", file=rel)
            spec.update(joint_count=int(pose.shape[1]), dims=int(pose.shape[2]), _pose_seen=True)
    return ParsedClip(external_id=clip_id, exercise=exercise, fps=float(fps), frame_count=frames,
                      participant=participant, source="jsonl", reps=reps, severity=severity, segments=segments,
                      feedback=feedback, pose=pose)
