"""The dataset card (``README.md``) and ``manifest.json`` written with every export.

Both are deterministic: no dates beyond the split version's freeze date, no host names, sorted
keys, so the same split version and label set give byte-identical files.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from datasets.exports.common import DEFAULT_LICENSE, SPLIT_NAMES
from datasets.exports.files import file_listing

HOW_TO_LOAD = {
    "jsonl": """```python
import json
train = [json.loads(line) for line in open("train.jsonl", encoding="utf-8")]
clip = train[0]; clip["repetitions"][0]["labels"]   # {error_type: {severity_score, severity_class, ...}}
# or: pandas.read_json("train.jsonl", lines=True)
```""",
    "csv": """```python
import pandas as pd
train = pd.read_csv("train.csv")   # one row per (clip, repetition, error type)
# text cells starting with = + - @ were prefixed with ' (spreadsheet formula guard)
```""",
    "parquet": """```python
import pyarrow.parquet as pq
train = pq.read_table("train.parquet").to_pandas()   # one row per (clip, repetition, error type)
```""",
    "npz": """```python
import numpy as np
d = np.load("train.npz")              # no allow_pickle needed
pose, lengths = d["pose"], d["lengths"]          # (N, T, J, D) NaN-padded, valid frames per clip
reps = slice(d["rep_offsets"][0], d["rep_offsets"][1])   # repetitions of clip 0
errors = d["error_codes"][d["label_error"]]        # label rows -> error code
```""",
    "llava": """```python
import json
train = json.load(open("train.json"))   # LLaVA-Video: data_path=train.json, video_folder=<your videos>
# LLaVA-NeXT train flags used by UMAP25: --frames_upbound 32 --force_sample True --add_time_instruction True
```""",
    "qevd": """```python
import json, numpy as np
records = json.load(open("train/feedbacks_long_range.json"))
ts = np.load("train/" + records[0]["video_timestamps"]) / 1e9 + 28800   # QEVD loader convention
```""",
    "croissant": """```python
import mlcroissant as mlc
ds = mlc.Dataset(jsonld="croissant.json")
for record in ds.records(record_set="clips"): ...
```
or `mlcroissant load --jsonld croissant.json --record_set labels`""",
    "flex": "See the FLEX layout notes in this directory (written by the knowledge-graph app).",
}


def split_counts(data, plan) -> dict:
    """Per split: clips, augmented copies, participants, repetitions, labels, as exported."""
    c = data.clips
    n_reps = np.bincount(data.reps["clip_row"], minlength=data.n_clips)
    n_labels = np.bincount(data.reps["clip_row"][data.labels["rep_row"]], minlength=data.n_clips) \
        if data.labels["rep_row"].size else np.zeros(data.n_clips, dtype=np.int64)
    out = {}
    for s, name in enumerate(SPLIT_NAMES):
        rows = plan.source[c["split"][plan.source] == s]
        augs = plan.augmentation[c["split"][plan.source] == s]
        originals = rows[augs == ""]
        parts = {p for p in c["participant"][originals].tolist() if p}
        out[name] = {"clips": int(originals.shape[0]), "augmented_copies": int(rows.shape[0] - originals.shape[0]),
                     "participants": len(parts), "repetitions": int(n_reps[rows].sum()),
                     "labels": int(n_labels[rows].sum())}
    return out


def write_card(*, out: Path, data, fmt: str, options, plan, result: dict, import_notes: list[dict]) -> None:
    sv = data.split_version
    dataset = data.dataset
    counts = split_counts(data, plan)
    license_id = options.license or DEFAULT_LICENSE
    rows = "\n".join(
        f"| {name} | {v['clips']} | {v['augmented_copies']} | {v['participants']} | {v['repetitions']} | {v['labels']} |"
        for name, v in counts.items())
    rule = sv.get_rule_display() + (f": {sv.rule_detail}" if sv.rule_detail else "")
    params = json.dumps(sv.params, sort_keys=True)
    balance = "none"
    if options.balance != "none":
        balance = (f"{options.balance} on {', '.join(options.balance_splits)} (seed {options.seed}); a class is the "
                   "exercise plus the clip's error combination. Augmented records name their augmentation and "
                   "source clip and stay in their source's split.")
        per_class = json.dumps({SPLIT_NAMES[int(k)]: v for k, v in plan.class_counts.items()}, sort_keys=True)
        balance += f"\n\nClass counts [before, after]: `{per_class}`"
    notes = ""
    if import_notes:
        notes = "\n## Source quirks kept as given\n\n" + "\n".join(
            f"- {n.get('format', '')}: {n.get('message', '')}" for n in import_notes[:50]) + "\n"
    text = f"""# {dataset.name} — split version {sv.version} ({fmt})

{dataset.description or 'A FormLab dataset.'}

Exported by FormLab from split version {sv.version} of dataset `{dataset.name}`
({'synthetic' if dataset.is_synthetic else 'imported or annotated'} data).

## Splits

| split | clips | augmented copies | participants | repetitions | labels |
| --- | ---: | ---: | ---: | ---: | ---: |
{rows}

- Split rule: {rule}. {'No participant is in two splits (checked at export).' if sv.participant_based
                       else 'This split is NOT participant-disjoint; its own rule was verified instead.'}
- Split source: {sv.get_source_display()}; parameters `{params}`; seed {sv.seed if sv.seed is not None else '-'}.
- Manifest hash (SHA-256 of the sorted clip ids per split): `{sv.manifest_hash}`

## Labels

{data.label_source.describe()}.

Severity classes are 0 (no error) to 3 (severe). Times are stored as frame positions with the
clip's fps; seconds = frame / fps.

## Balancing

{balance}

## License

{license_id}. Check the terms of the original data source before redistributing.

## How to load

{HOW_TO_LOAD.get(fmt, '')}

## Files

See `manifest.json` for every file with its size and SHA-256.
{notes}"""
    (out / "README.md").write_text(text, encoding="utf-8")


def write_manifest(*, out: Path, data, fmt: str, options, result: dict) -> dict:
    sv = data.split_version
    files = file_listing(out, exclude=("manifest.json",))
    manifest = {
        "format": fmt,
        "dataset": data.dataset.name,
        "split_version": {"id": sv.pk, "version": sv.version, "rule": sv.rule, "manifest_hash": sv.manifest_hash,
                          "counts": sv.counts.get("clips", {})},
        "labels": data.label_source.as_json(),
        "options": options.as_json(),
        "records": result.get("records", {}),
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n",
                                       encoding="utf-8")
    return manifest
