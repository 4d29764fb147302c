"""``croissant``: CSV tables plus a Croissant 1.1 ``croissant.json`` that describes them.

Tables: ``clips.csv`` (one row per exported clip or augmented copy), ``repetitions.csv`` (one row
per repetition) and ``labels.csv`` (one row per (repetition, error type)), each with a ``split``
column that references the ``splits`` record set (``dataType: cr:Split``, rows train/val/test with
the standard ``cr:TrainingSplit`` / ``cr:ValidationSplit`` / ``cr:TestSplit`` urls), following
the Splits section of the Croissant 1.1 spec (mlcommons/croissant ``docs/croissant-spec-1.1.md``).

The JSON-LD context is mlcroissant's own (``mlc.Metadata().to_json()["@context"]``), so
``mlcroissant validate`` reports no "context is not standard" warning; ``conformsTo`` is set to
1.1 explicitly (mlcroissant defaults to 1.0). No timestamp goes in: ``datePublished`` is the
split version's freeze date, so two exports of one version are byte-identical.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from datasets.exports.common import DEFAULT_LICENSE, SPLIT_NAMES, row_plan
from datasets.exports.files import sha256_file
from datasets.exports.tabular import long_table, write_csv

CROISSANT_CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
SPLIT_URLS = {"train": "cr:TrainingSplit", "val": "cr:ValidationSplit", "test": "cr:TestSplit"}
# The context mlcroissant 1.x writes (Croissant spec Appendix 1, https://schema.org/ variant).
CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/", "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "samplingRate": "cr:samplingRate", "sc": "https://schema.org/", "separator": "cr:separator",
    "source": "cr:source", "subField": "cr:subField", "transform": "cr:transform",
}
DESCRIPTIONS = {
    "clip_id": "Clip id (the source's own id).", "split": "Split of the clip: train, val or test.",
    "exercise": "Exercise slug.", "participant": "Participant id; empty when the source has none.",
    "skill_level": "Participant skill: 0 beginner, 1 intermediate, 2 expert, -1 unknown.",
    "fps": "Frames per second of the clip.", "frame_count": "Frames in the clip.",
    "n_repetitions": "Repetitions of the clip.", "augmentation": "Empty for an original, else the augmentation.",
    "rep_index": "Repetition index within the clip, from 0.", "start_frame": "Repetition start (frame position).",
    "end_frame": "Repetition end (frame position).", "start_s": "Repetition start in seconds.",
    "end_s": "Repetition end in seconds.", "error_type": "Error type code.",
    "severity_score": "Severity: mean vote 0-3 (raw labels) or the label set's score.",
    "severity_class": "Severity class 0-3: majority vote (raw) or the label set's class.",
    "n_votes": "Number of severity votes (raw labels).",
    "endpoints_agree": "False when the annotators' end points disagree (left out of evaluation).",
}


def _spdx_url(license_id: str) -> str:
    if license_id.startswith("http"):
        return license_id
    return f"https://spdx.org/licenses/{license_id}.html"


def tables(data, plan) -> dict[str, pa.Table]:
    """clips / repetitions / labels tables, without nulls in integer columns (Croissant readers)."""
    long = long_table(data, plan)
    c = data.clips
    src = plan.source
    n_reps = np.bincount(data.reps["clip_row"], minlength=data.n_clips)[src]
    clips = pa.table({
        "clip_id": pa.array(c["external_id"][src], type=pa.string()),
        "split": pa.array(np.array(SPLIT_NAMES, dtype=object)[c["split"][src]], type=pa.string()),
        "exercise": pa.array(c["exercise_slug"][src], type=pa.string()),
        "participant": pa.array(c["participant"][src], type=pa.string()),
        "skill_level": pa.array(c["skill"][src], type=pa.int64()),
        "fps": pa.array(c["fps"][src], type=pa.float64()),
        "frame_count": pa.array(c["frame_count"][src], type=pa.int64()),
        "n_repetitions": pa.array(n_reps, type=pa.int64()),
        "endpoints_agree": pa.array(c["endpoints_agree"][src], type=pa.bool_()),
        "augmentation": pa.array(plan.augmentation, type=pa.string()),
    })
    has_rep = long["rep_index"].is_valid()
    first_of_rep = _first_rows(long, has_rep)
    reps = pa.table({
        "clip_id": long["clip_id"].filter(first_of_rep), "split": long["split"].filter(first_of_rep),
        "augmentation": long["augmentation"].filter(first_of_rep),
        "rep_index": long["rep_index"].filter(first_of_rep).cast(pa.int64()),
        "start_frame": long["rep_start_frame"].filter(first_of_rep),
        "end_frame": long["rep_end_frame"].filter(first_of_rep),
        "start_s": long["rep_start_s"].filter(first_of_rep), "end_s": long["rep_end_s"].filter(first_of_rep),
    })
    has_label = long["error_type"].is_valid()
    label_cols = {
        "clip_id": long["clip_id"], "split": long["split"], "augmentation": long["augmentation"],
        "rep_index": long["rep_index"].cast(pa.int64()), "error_type": long["error_type"],
        "severity_score": long["severity_score"], "severity_class": long["severity_class"].cast(pa.int64()),
    }
    if "n_votes" in long.column_names:
        label_cols["n_votes"] = long["n_votes"].cast(pa.int64())
    labels = pa.table({k: v.filter(has_label) for k, v in label_cols.items()})
    return {"clips": clips, "repetitions": reps, "labels": labels}


def _first_rows(long: pa.Table, has_rep) -> pa.Array:
    """True on the first long-table row of each (plan row, repetition)."""
    idx = long["rep_index"].to_numpy(zero_copy_only=False)
    clip = long["clip_id"].to_numpy(zero_copy_only=False)
    aug = long["augmentation"].to_numpy(zero_copy_only=False)
    valid = np.asarray(has_rep.to_numpy(zero_copy_only=False), dtype=bool)
    first = np.ones(len(idx), dtype=bool)
    if len(idx) > 1:
        first[1:] = (clip[1:] != clip[:-1]) | (aug[1:] != aug[:-1]) | (idx[1:] != idx[:-1])
    return pa.array(first & valid)


def _field(record_set: str, name: str, arrow_type: pa.DataType, file_id: str, references=None) -> dict:
    kind = ("sc:Integer" if pa.types.is_integer(arrow_type) else "sc:Float" if pa.types.is_floating(arrow_type)
            else "sc:Boolean" if pa.types.is_boolean(arrow_type) else "sc:Text")
    field = {"@type": "cr:Field", "@id": f"{record_set}/{name}", "name": f"{record_set}/{name}",
             "description": DESCRIPTIONS.get(name, name.replace("_", " ")), "dataType": kind,
             "source": {"fileObject": {"@id": file_id}, "extract": {"column": name}}}
    if references:
        field["references"] = {"field": {"@id": references}}
    return field


def metadata(data, out: Path, table_map: dict[str, pa.Table], options) -> dict:
    dataset = data.dataset
    sv = data.split_version
    license_id = options.license or DEFAULT_LICENSE
    distribution = []
    record_sets = [{
        "@type": "cr:RecordSet", "@id": "splits", "name": "splits", "dataType": "cr:Split",
        "description": "The splits of this export (participant-disjoint unless the card says otherwise).",
        "key": {"@id": "splits/name"},
        "field": [
            {"@type": "cr:Field", "@id": "splits/name", "name": "splits/name", "dataType": "sc:Text"},
            {"@type": "cr:Field", "@id": "splits/url", "name": "splits/url", "dataType": "sc:URL"},
        ],
        "data": [{"splits/name": name, "splits/url": SPLIT_URLS[name]} for name in SPLIT_NAMES],
    }]
    for name, table in table_map.items():
        file_id = f"{name}.csv"
        distribution.append({"@type": "cr:FileObject", "@id": file_id, "name": file_id, "contentUrl": file_id,
                             "encodingFormat": "text/csv", "sha256": sha256_file(out / file_id)})
        fields = []
        for column in table.schema:
            ref = "splits/name" if column.name == "split" else None
            fields.append(_field(name, column.name, column.type, file_id, references=ref))
        record_sets.append({"@type": "cr:RecordSet", "@id": name, "name": name,
                            "description": f"One row per {name[:-1] if name != 'labels' else 'label'}.",
                            "field": fields})
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": f"{dataset.name}-split-v{sv.version}",
        "description": (dataset.description or f"FormLab dataset {dataset.name}") +
                       f" Split version {sv.version} ({sv.get_rule_display()}), manifest {sv.manifest_hash}.",
        "conformsTo": CROISSANT_CONFORMS_TO,
        "license": _spdx_url(license_id),
        "url": f"https://formlab.invalid/datasets/{dataset.name}/splits/{sv.version}",
        "version": f"{sv.version}.0.0",
        "datePublished": sv.created_at.date().isoformat(),
        "citeAs": f"FormLab export of {dataset.name}, split version {sv.version} ({sv.manifest_hash[:12]})",
        "creator": {"@type": "sc:Organization", "name": "FormLab"},
        "keywords": ["fitness", "action quality assessment", "pose", "repetition counting"],
        "distribution": distribution,
        "recordSet": record_sets,
    }


def write(data, out: Path, options, progress=None) -> dict:
    plan = row_plan(data, options)
    table_map = tables(data, plan)
    for name, table in table_map.items():
        write_csv(table, out / f"{name}.csv")
    meta = metadata(data, out, table_map, options)
    with open(out / "croissant.json", "w", encoding="utf-8", newline="\n") as handle:
        json.dump(meta, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    clips_split = table_map["clips"]["split"].to_numpy(zero_copy_only=False)
    return {"records": {s: int(np.count_nonzero(clips_split == s)) for s in SPLIT_NAMES},
            "files": [f"{n}.csv" for n in table_map] + ["croissant.json"],
            "tables": {n: t.num_rows for n, t in table_map.items()}}
