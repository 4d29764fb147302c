"""``flex``: the FLEX on-disk layout, written by the knowledge-graph app's exporter.

The KG app owns the FLEX layout (``kg.exports.export_flex_layout``: ``Skeleton/A%02d/%03d/...``,
``Split_4/split_4_{train,test}_list.mat`` rows ``[action, sample, score]``); this module hands it
the split assignment and the label set. When the KG app is not installed the format is not
offered.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from datasets.exports.common import SPLIT_NAMES


def _exporter():
    try:
        module = importlib.import_module("kg.exports")
    except ImportError:
        return None
    return getattr(module, "export_flex_layout", None)


def flex_available() -> bool:
    return _exporter() is not None


def write(data, out: Path, options, progress=None) -> dict:
    export_flex_layout = _exporter()
    assignment = {int(pk): SPLIT_NAMES[int(s)] for pk, s in zip(data.clips["id"].tolist(), data.clips["split"].tolist())}
    # FLEX scores come from the KG app's own (current) FLEX label set, not from severity label sets.
    result = export_flex_layout(dataset=data.dataset, out_dir=Path(out), label_set=None,
                                split_assignment=assignment) or {}
    # The KG exporter writes its own manifest.json; keep it under another name, ours lists every file.
    kg_manifest = Path(out) / "manifest.json"
    if kg_manifest.exists():
        kg_manifest.rename(Path(out) / "flex_manifest.json")
    counts = {name: int(sum(1 for s in assignment.values() if s == name)) for name in SPLIT_NAMES}
    return {"records": counts, "files": sorted(p.relative_to(out).as_posix() for p in Path(out).rglob("*")
                                                if p.is_file()), "kg": result if isinstance(result, dict) else {}}
