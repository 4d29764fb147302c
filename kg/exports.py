"""Exports for FLEX users: the FLEX on-disk layout and FLEX-VideoQA-style dialogues.

Both export the *final* samples of a FLEX label set (default: the dataset's current one) and
number samples the same way, so ``A03_017`` in the VideoQA file is ``Skeleton/A03/017`` in the
layout export: per action, samples ordered by participant, then clip external id, numbered from 1.

``export_flex_layout`` and ``export_videoqa`` are called by the generic exporter and by
``manage.py export_flex``. ``split_assignment`` maps clip id -> "train" | "val" | "test"; without
it the layout export uses a participant-disjoint default (every fourth participant, in
external-id order, is test; of two or three participants the last).
"""
import csv
import io
import json
import logging
from collections.abc import Mapping
from pathlib import Path

from config.exceptions import ConflictError, DomainError
from config.version import code_version
from datasets.core.pose_io import PoseError, load_pose
from datasets.models import Dataset
from kg.core.flex_layout import SPLIT_KEYS, skeleton_path, split_path, write_skeleton_csv, write_split_mat
from kg.core.pose import FLEX_JOINTS
from kg.core.videoqa import TEMPLATE_VERSION, conversation
from kg.models import FlexLabelSet, FlexSampleLabel
from kg.selectors import feedback_current_map, label_set_current
from kg.services.graph import compiled_graph

logger = logging.getLogger(__name__)

SCORE_DECIMALS = 2  # FLEX scores are printed with two decimals (e.g. 77.02)
SPLITS = ("train", "val", "test")


def _label_set(dataset: Dataset, label_set: FlexLabelSet | None) -> FlexLabelSet:
    if label_set is None:
        label_set = label_set_current(dataset=dataset)
        if label_set is None:
            raise ConflictError(f"Dataset {dataset.name} has no current FLEX label set; run the score_flex job first.",
                                code="no_current_label_set")
    elif label_set.dataset_id != dataset.pk:
        raise DomainError("The label set belongs to another dataset.", code="label_set_mismatch")
    return label_set


def _out_dir(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DomainError(f"{out} exists and is not an empty directory.", code="export_dir_not_empty")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _final_samples(label_set: FlexLabelSet) -> list[dict]:
    """Final samples with their FLEX (action, sample) numbering."""
    rows = list(
        FlexSampleLabel.objects.filter(label_set=label_set, status=FlexSampleLabel.Status.FINAL)
        .values("clip_id", "action_index", "final", "penalty", "total", "score",
                "clip__external_id", "clip__participant_id", "clip__participant__external_id",
                "clip__participant__skill_level", "clip__pose_file", "clip__video_file", "clip__fps")
    )
    rows.sort(key=lambda r: (r["action_index"], r["clip__participant__external_id"] or "", r["clip__external_id"],
                             r["clip_id"]))
    counter: dict[int, int] = {}
    for row in rows:
        counter[row["action_index"]] = counter.get(row["action_index"], 0) + 1
        row["sample_index"] = counter[row["action_index"]]
        row["sample_id"] = f"A{row['action_index']:02d}_{row['sample_index']:03d}"
        row["score_rounded"] = round(float(row["score"]), SCORE_DECIMALS)
    return rows


def _blank_if_none(value):
    return "" if value is None else value


def _default_split(rows) -> dict[int, str]:
    """Participant-disjoint: every fourth participant (by external id) is test, the rest train;
    with two or three participants the last one is test."""
    participants = sorted({(r["clip__participant__external_id"] or "", r["clip__participant_id"] or 0) for r in rows})
    n = len(participants)
    test = {p for i, p in enumerate(participants) if i % 4 == 3 or (1 < n < 4 and i == n - 1)}
    return {r["clip_id"]: "test" if (r["clip__participant__external_id"] or "", r["clip__participant_id"] or 0) in test
            else "train" for r in rows}


def _load_pose(name: str):
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as handle:
        data = handle.read()
    return load_pose(data, expected_joints=len(FLEX_JOINTS), expected_dims=3, max_frames=10**7, max_bytes=10**10)


def _manifest(*, kind, dataset, label_set, rows, extra) -> dict:
    return {"format": kind, "dataset": dataset.name, "dataset_id": dataset.pk, "label_set": label_set.pk,
            "label_set_number": label_set.number, "graph_version": label_set.graph_version.number,
            "graph_hash": label_set.graph_version.content_hash, "code_version": code_version(),
            "samples": len(rows), "score_decimals": SCORE_DECIMALS, **extra}


def export_flex_layout(*, dataset: Dataset, out_dir, label_set: FlexLabelSet | None = None,
                       split_assignment: Mapping[int, str] | None = None) -> dict:
    """Write the FLEX layout of a dataset's final samples; return the manifest.

    Writes ``Skeleton/A%02d/%03d/skeleton_points.csv`` (clips with pose), ``Split_4/*.mat``
    (rows ``[action, sample, score]``; train and test, plus val when assigned), ``scores.csv``,
    ``actions.csv`` and ``manifest.json``. Clips without a split entry are left out of the lists.
    """
    label_set = _label_set(dataset, label_set)
    rows = _final_samples(label_set)
    out = _out_dir(out_dir)
    split_of = dict(split_assignment) if split_assignment is not None else _default_split(rows)
    bad = sorted({v for v in split_of.values() if v not in SPLITS})
    if bad:
        raise DomainError(f"Unknown split name(s) {bad}; use train, val or test.", code="invalid_split")
    graph = compiled_graph(label_set.graph_version)

    missing_pose = 0
    for row in rows:
        if not row["clip__pose_file"]:
            missing_pose += 1
            continue
        try:
            pose = _load_pose(row["clip__pose_file"])
        except (OSError, PoseError):
            missing_pose += 1
            continue
        write_skeleton_csv(skeleton_path(out, row["action_index"], row["sample_index"]), pose, FLEX_JOINTS)

    lists = {name: [] for name in SPLITS}
    for row in rows:
        split = split_of.get(row["clip_id"])
        if split is not None:
            lists[split].append([row["action_index"], row["sample_index"], row["score_rounded"]])
    for name in SPLITS:
        if lists[name] or name != "val":
            write_split_mat(split_path(out, name), SPLIT_KEYS[name][1], lists[name])

    with (out / "scores.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["action_index", "sample_index", "sample_id", "action", "clip_id", "clip_external_id",
                         "participant", "skill_level", "split", "score", "penalty", "total", "final_slots"])
        for row in rows:
            spec = graph.actions[row["action_index"] - 1]
            writer.writerow([row["action_index"], row["sample_index"], row["sample_id"], spec.name, row["clip_id"],
                             row["clip__external_id"], row["clip__participant__external_id"] or "",
                             _blank_if_none(row["clip__participant__skill_level"]),
                             split_of.get(row["clip_id"], ""), f"{row['score_rounded']:.{SCORE_DECIMALS}f}",
                             row["penalty"], row["total"], ";".join(row["final"] or [])])
    with (out / "actions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["action_index", "code", "name", "total_weight", "slots"])
        for spec in graph.actions:
            writer.writerow([spec.index, spec.code, spec.name, spec.total, len(spec.slots)])
    manifest = _manifest(kind="flex_layout", dataset=dataset, label_set=label_set, rows=rows, extra={
        "splits": {name: len(lists[name]) for name in SPLITS},
        "unsplit": sum(1 for r in rows if r["clip_id"] not in split_of),
        "split_source": "given" if split_assignment is not None else "default: every 4th participant is test",
        "skeletons": len(rows) - missing_pose, "missing_pose": missing_pose,
        "joints": list(FLEX_JOINTS),
        "notes": "No video frames (View-1/2) or EMG are exported. Scores are FLEX Eq. 1 on the final slots, "
                 "rounded to 2 decimals; the baselines normalise them per action with their own ranges.",
    })
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    logger.info("kg.export_flex_layout", extra={"dataset": dataset.pk, "samples": len(rows)})
    return manifest


def export_videoqa(*, dataset: Dataset, out_dir, label_set: FlexLabelSet | None = None) -> dict:
    """Write ``flex_videoqa.json`` (a list of LLaVA-style records) and ``manifest.json``.

    One record per final sample: action recognition -> action standards -> action evaluation ->
    action scoring, filled from the graph, the final slots, the current feedback texts and the
    score. Error types without a curated text quote their keystep's standard instead (counted in
    the manifest as ``feedback_fallbacks``).
    """
    label_set = _label_set(dataset, label_set)
    rows = _final_samples(label_set)
    out = _out_dir(out_dir)
    graph = compiled_graph(label_set.graph_version)
    feedback = {code: t.text for code, t in feedback_current_map().items()}
    records, fallbacks = [], 0
    for row in rows:
        spec = graph.actions[row["action_index"] - 1]
        marked = [spec.names[k] for k in row["final"] or []]
        turns, missing = conversation(action=spec, graph=graph, marked=marked, score=row["score_rounded"],
                                      penalty=row["penalty"], feedback=feedback)
        fallbacks += missing
        records.append({
            "id": row["sample_id"], "clip_id": row["clip_id"], "clip": row["clip__external_id"],
            "action": spec.name, "action_code": spec.code, "score": row["score_rounded"],
            "final_slots": row["final"] or [],
            "video": row["clip__video_file"] or "",
            "skeleton": str(skeleton_path(Path("."), row["action_index"], row["sample_index"])),
            "data_source": f"formlab_flex_{dataset.name}",
            "conversations": turns,
        })
    buffer = io.StringIO()
    json.dump(records, buffer, indent=2, ensure_ascii=False)
    (out / "flex_videoqa.json").write_text(buffer.getvalue())
    manifest = _manifest(kind="flex_videoqa", dataset=dataset, label_set=label_set, rows=rows, extra={
        "template": TEMPLATE_VERSION, "feedback_fallbacks": fallbacks,
        "feedback_versions": {c: t.version for c, t in feedback_current_map().items()},
        "turns": ["action recognition", "action standards", "action evaluation", "action scoring"],
    })
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    logger.info("kg.export_videoqa", extra={"dataset": dataset.pk, "samples": len(rows)})
    return manifest

