"""Exporting a frozen split version: checks first, then one atomic directory.

``split_export`` is what ``manage.py export_split`` and the ``export_split`` job call. It
refuses before reading any labels when the target directory is not allowed, when the format or an
option is unknown, or when the split leaks a participant across splits (unless the split version
is recorded as following another rule, which is then verified instead). The files are written
into a temporary directory beside the target and renamed into place at the end.
"""
from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

from django.conf import settings

from config.exceptions import DomainError
from datasets.exports.card import write_card, write_manifest
from datasets.exports.common import options_from_params, row_plan
from datasets.exports.data import export_data_load
from datasets.exports.files import AtomicDirectory, out_dir_check
from datasets.exports.labels import label_source_resolve
from datasets.models import ImportRecord, SplitVersion

logger = logging.getLogger(__name__)

#: format -> "module:function" writing the format's files into a directory.
FORMATS = {
    "jsonl": "datasets.exports.jsonl:write",
    "csv": "datasets.exports.tabular:write_csv_export",
    "parquet": "datasets.exports.tabular:write_parquet_export",
    "npz": "datasets.exports.npz:write",
    "llava": "datasets.exports.llava:write",
    "qevd": "datasets.exports.qevd:write",
    "flex": "datasets.exports.flex:write",
    "croissant": "datasets.exports.croissant:write",
}


def export_formats() -> list[str]:
    from datasets.exports.flex import flex_available

    return [name for name in FORMATS if name != "flex" or flex_available()]


def _writer(fmt: str):
    if fmt not in FORMATS:
        raise DomainError(f"Unknown export format {fmt!r}. Known: {', '.join(FORMATS)}.", code="unknown_format",
                          fields={"format": [fmt]})
    if fmt == "flex" and fmt not in export_formats():
        raise DomainError("The flex format needs the knowledge-graph app's exporter (kg.exports), which is not "
                          "installed here.", code="format_unavailable")
    module, _, func = FORMATS[fmt].partition(":")
    return getattr(importlib.import_module(module), func)


def split_export_check(*, split_version: SplitVersion) -> None:
    """Refuse a split whose clips break its rule: a participant in two splits, by default."""
    from datasets.services.splits import split_rule_violations

    violations = split_rule_violations(split_version=split_version)
    if not violations:
        return
    if split_version.participant_based:
        raise DomainError(
            f"Split version {split_version.version} puts {len(violations)} participant(s) in more than one split: "
            f"{', '.join(map(str, violations[:20]))}{' ...' if len(violations) > 20 else ''}.",
            code="split_leakage", fields={"participants": violations})
    raise DomainError(
        f"Split version {split_version.version} breaks its own rule ({split_version.rule}) for "
        f"{', '.join(map(str, violations[:20]))}.", code="split_rule_violated", fields={"groups": violations})


def split_export(*, split_version: SplitVersion, fmt: str, out, params: dict | None = None, force: bool = False,
                 allowed_root: Path | None = None, progress=None) -> dict:
    """Write one export of ``split_version`` into ``out``; return its manifest."""
    report = progress or (lambda fraction, message="": None)
    started = time.perf_counter()
    target = out_dir_check(out=out, force=force, allowed_root=allowed_root)
    writer = _writer(fmt)
    params = dict(params or {})
    label_param = params.pop("label_set", None)
    options = options_from_params(params)
    if options.extra:
        raise DomainError(f"Unknown export option(s): {', '.join(sorted(options.extra))}.",
                          code="unknown_export_option", fields={"unknown": sorted(options.extra)})
    split_export_check(split_version=split_version)
    label_source = label_source_resolve(dataset=split_version.dataset, label_set_id=label_param,
                                        default_label_set_id=split_version.label_set_id)
    report(0.02, "checked")
    data = export_data_load(split_version=split_version, label_source=label_source,
                            progress=lambda f, m="": report(0.02 + 0.48 * f, m))
    plan = row_plan(data, options)
    notes = [dict(w, format=r.format) for r in ImportRecord.objects.filter(dataset=split_version.dataset)
             .order_by("pk") for w in r.warnings]
    atomic = AtomicDirectory(target)
    with atomic as tmp:
        result = writer(data, tmp, options, progress=lambda f, m="": report(0.5 + 0.45 * f, m))
        write_card(out=tmp, data=data, fmt=fmt, options=options, plan=plan, result=result, import_notes=notes)
        manifest = write_manifest(out=tmp, data=data, fmt=fmt, options=options, result=result)
        atomic.commit()
    report(1.0, "done")
    logger.info("export.written", extra={"split_version": split_version.pk, "format": fmt,
                                         "seconds": round(time.perf_counter() - started, 2)})
    return manifest | {"out": str(target)}


def export_media_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"
