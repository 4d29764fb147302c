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
    label_param = params.pop("label_set", None) or None
    endpoint_param = params.pop("endpoint_label_set", None) or None
    options = options_from_params(params)
    if options.extra:
        raise DomainError(f"Unknown export option(s): {', '.join(sorted(options.extra))}.",
                          code="unknown_export_option", fields={"unknown": sorted(options.extra)})
    split_export_check(split_version=split_version)
    label_source = label_source_resolve(
        dataset=split_version.dataset, label_set_id=label_param, endpoint_label_set_id=endpoint_param,
        default_label_set_ids=(split_version.label_set_id, split_version.label_set_info.get("endpoints_label_set")))
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


def split_export_launch(*, split_version: SplitVersion, fmt: str, params: dict | None = None, user=None):
    """Create the export row and its job (curators, from the API). Checks what can be checked now."""
    from django.db import transaction

    from datasets.models import SplitExport
    from tasks.services import job_launch

    _writer(fmt)
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    label = clean.pop("label_set", None)
    endpoint_label = clean.pop("endpoint_label_set", None)
    options = options_from_params(clean)
    if options.extra:
        raise DomainError(f"Unknown export option(s): {', '.join(sorted(options.extra))}.",
                          code="unknown_export_option", fields={"unknown": sorted(options.extra)})
    split_export_check(split_version=split_version)
    job_params = {k: v for k, v in clean.items()}
    if label not in (None, ""):
        job_params["label_set"] = str(label)
    if endpoint_label not in (None, ""):
        job_params["endpoint_label_set"] = str(endpoint_label)
    with transaction.atomic():
        export = SplitExport.objects.create(split_version=split_version, format=fmt, options=options.as_json(),
                                            created_by=user if user is not None and user.pk else None)
        job = job_launch(kind="export_split", dataset=split_version.dataset, user=user,
                         params={"split_version": split_version.pk, "format": fmt, "export": export.pk, **job_params})
        export.job_id = job.pk
        export.save(update_fields=["job_id"])
    return export


def split_export_job(*, job, progress, params: dict) -> dict:
    """The ``export_split`` job: write under ``MEDIA_ROOT/exports/<export id>/`` and record the result.

    Safe to re-run: the directory is replaced atomically and the export row updated by name. The
    row is the one the API created (the ``export`` parameter) or, for a job launched without one
    (``run_job``, the CLI), the row this job created on an earlier attempt, found by its job id: a
    retry after a lost worker never leaves a second row. Attempts of one job never overlap (the
    job claim in ``tasks.services`` lets one at a time run), so the lookup cannot race itself.
    """
    from django.utils import timezone

    from datasets.models import SplitExport
    from datasets.selectors_splits import split_version_get

    params = dict(params)
    split_version = split_version_get(split_version_id=params.pop("split_version"))
    if job.dataset_id is not None and split_version.dataset_id != job.dataset_id:
        raise DomainError("The split version belongs to another dataset.", code="dataset_mismatch")
    fmt = params.pop("format")
    export_id = params.pop("export", None)
    export = SplitExport.objects.filter(pk=export_id).first() if export_id else None
    if export is None:
        export = SplitExport.objects.filter(job_id=job.pk).order_by("pk").first()
    if export is None:
        export = SplitExport.objects.create(split_version=split_version, format=fmt, job_id=job.pk,
                                            options={k: v for k, v in params.items()}, created_by=job.launched_by)
    SplitExport.objects.filter(pk=export.pk).update(state=SplitExport.State.RUNNING, error="")
    out = export_media_root() / str(export.pk)
    try:
        manifest = split_export(split_version=split_version, fmt=fmt, out=out, params=params, force=True,
                                allowed_root=Path(settings.MEDIA_ROOT), progress=progress.update)
    except Exception as exc:
        reason = (f"{exc.code}: {exc.detail}" if isinstance(exc, DomainError) else str(exc)) or type(exc).__name__
        SplitExport.objects.filter(pk=export.pk).update(state=SplitExport.State.FAILED, error=reason[:2000],
                                                        finished_at=timezone.now())
        raise
    SplitExport.objects.filter(pk=export.pk).update(
        state=SplitExport.State.SUCCEEDED, path=f"exports/{export.pk}", files=manifest["files"],
        counts=manifest.get("records", {}), label_set_id=manifest["labels"].get("label_set_id"),
        code_version=job.code_version, finished_at=timezone.now())
    return {"export": export.pk, "path": f"exports/{export.pk}", "files": len(manifest["files"]),
            "records": manifest.get("records", {})}


def split_export_zip(*, export) -> Path:
    """The export as one zip (built on first request, fixed timestamps, cached beside it)."""
    from datasets.exports.files import write_zip

    root = Path(settings.MEDIA_ROOT) / export.path
    target = Path(settings.MEDIA_ROOT) / "exports" / f"{export.pk}.zip"
    if not target.exists():
        tmp = target.with_suffix(".zip.partial")
        write_zip(tmp, root, [f["path"] for f in export.files] + ["manifest.json"])
        tmp.replace(target)
    return target
