"""The model registry: write a run with its files, read a model back safely, compare two runs.

Files first, row last: the model (joblib) and the plots are written to ``runs/<key>/`` in storage,
their SHA-256 recorded, and the `ModelRun` row created in one short transaction. If the row cannot
be written the files are deleted, so a failed or cancelled job leaves no orphan run. Loading a
model recomputes the checksum and refuses the file when it differs (joblib unpickles: only bytes
the registry wrote and can vouch for are ever unpickled).
"""
from __future__ import annotations

import hashlib
import io
import logging
import math

import joblib
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from config.exceptions import DomainError, NotFoundError
from config.version import code_version
from tasks.models import ModelRun

logger = logging.getLogger(__name__)

__all__ = [
    "model_run_compare",
    "model_run_create",
    "model_run_load_model",
    "model_run_plot_read",
]

MODEL_FILE = "model.joblib"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: str, data: bytes) -> str:
    if default_storage.exists(path):
        default_storage.delete(path)
    return default_storage.save(path, ContentFile(data))


def model_run_create(*, kind: str, job, dataset, split_version, model, estimator: str, params: dict,
                     seed: int, inputs: dict, metrics: dict, headline: dict, plots: dict[str, bytes],
                     label_set_id: int | None = None, endpoint_label_set_id: int | None = None,
                     label_sets: dict | None = None, duration_s: float | None = None) -> ModelRun:
    """Store the model and plots, then write the run row. Returns the run.

    ``model`` is any picklable object (the jobs pass a dict of fitted `PoseModel` objects plus
    thresholds); it is written with joblib and its checksum kept on the row.
    """
    run = ModelRun(kind=kind)
    folder = f"runs/{run.key}"
    written: list[str] = []
    try:
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=3)
        data = buffer.getvalue()
        model_path = _write(f"{folder}/{MODEL_FILE}", data)
        written.append(model_path)
        artefacts = [{"name": MODEL_FILE, "path": model_path, "sha256": _sha256(data), "bytes": len(data),
                      "content_type": "application/octet-stream"}]
        for name, png in sorted(plots.items()):
            path = _write(f"{folder}/plots/{name}.png", png)
            written.append(path)
            artefacts.append({"name": name, "path": path, "sha256": _sha256(png), "bytes": len(png),
                              "content_type": "image/png"})
        with transaction.atomic():
            run.job = job
            run.dataset = dataset
            run.split_version = split_version
            run.label_set_id = label_set_id
            run.endpoint_label_set_id = endpoint_label_set_id
            run.label_sets = label_sets or {}
            run.estimator = estimator
            run.params = params
            run.seed = seed
            run.code_version = code_version()
            run.inputs = inputs
            run.metrics = metrics
            run.headline = headline
            run.artefacts = artefacts
            run.model_path = model_path
            run.model_sha256 = artefacts[0]["sha256"]
            run.duration_s = duration_s
            run.launched_by = getattr(job, "launched_by", None)
            run.save()
    except BaseException:
        for path in written:
            default_storage.delete(path)
        raise
    logger.info("model_run.created", extra={"run_id": run.pk, "kind": kind, "dataset_id": dataset.pk})
    return run


def model_run_load_model(*, run: ModelRun):
    """Read the run's model file back; refuse it if its checksum differs from the recorded one."""
    if not run.model_path or not default_storage.exists(run.model_path):
        raise NotFoundError(f"Run {run.pk} has no model file in storage.", code="model_file_missing")
    with default_storage.open(run.model_path, "rb") as handle:
        data = handle.read()
    actual = _sha256(data)
    if actual != run.model_sha256:
        logger.warning("model_run.checksum_mismatch", extra={"run_id": run.pk})
        raise DomainError(
            f"The model file of run {run.pk} does not match its recorded checksum; refusing to load it.",
            code="model_checksum_mismatch", fields={"expected": run.model_sha256, "actual": actual},
        )
    return joblib.load(io.BytesIO(data))


def model_run_plot_read(*, run: ModelRun, name: str) -> bytes:
    """PNG bytes of one of the run's plots (404 for a name the run does not have)."""
    artefact = next((a for a in run.artefacts if a["name"] == name and a["content_type"] == "image/png"), None)
    if artefact is None or not default_storage.exists(artefact["path"]):
        raise NotFoundError(f"Run {run.pk} has no plot {name!r}.", code="plot_not_found")
    with default_storage.open(artefact["path"], "rb") as handle:
        return handle.read()


def _flatten(value, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested dict, keyed by dotted path (lists and strings are skipped)."""
    out: dict[str, float] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, bool):
        out[prefix] = float(value)
    elif isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        out[prefix] = float(value)
    return out


def _error_type_rows(run: ModelRun) -> dict[str, dict]:
    rows = run.metrics.get("error_types") if isinstance(run.metrics, dict) else None
    return {row["key"]: row for row in rows or []}


def model_run_compare(*, a: ModelRun, b: ModelRun) -> dict:
    """Side-by-side view of two runs: parameters, headline and per-metric deltas (b - a) and, for
    severity runs, per-error-type Kappa1 against the target.

    Runs of different kinds compare only their common metrics; a missing value gives no delta.
    """
    flat_a, flat_b = _flatten(a.metrics.get("summary", {})), _flatten(b.metrics.get("summary", {}))
    flat_a.update(_flatten(a.headline, "headline"))
    flat_b.update(_flatten(b.headline, "headline"))
    metrics = []
    for name in sorted(set(flat_a) | set(flat_b)):
        va, vb = flat_a.get(name), flat_b.get(name)
        metrics.append({"metric": name, "a": va, "b": vb,
                        "delta": None if va is None or vb is None else vb - va})
    rows_a, rows_b = _error_type_rows(a), _error_type_rows(b)
    error_types = []
    for key in sorted(set(rows_a) | set(rows_b)):
        ra, rb = rows_a.get(key, {}), rows_b.get(key, {})
        ka, kb = ra.get("kappa1"), rb.get("kappa1")
        error_types.append({
            "key": key,
            "exercise": ra.get("exercise") or rb.get("exercise"),
            "error_type": ra.get("error_type") or rb.get("error_type"),
            "target": ra.get("target") if ra.get("target") is not None else rb.get("target"),
            "a_kappa1": ka, "b_kappa1": kb,
            "a_met": ra.get("met"), "b_met": rb.get("met"),
            "delta_kappa1": None if ka is None or kb is None else kb - ka,
        })
    changed = sorted(k for k in set(a.params) | set(b.params) if a.params.get(k) != b.params.get(k))
    return {
        "a": a.pk, "b": b.pk, "same_kind": a.kind == b.kind,
        "params_changed": {k: {"a": a.params.get(k), "b": b.params.get(k)} for k in changed},
        "same_inputs": a.inputs.get("hash") == b.inputs.get("hash") and a.inputs.get("hash") is not None,
        "metrics": metrics,
        "error_types": error_types,
        "plots": {"a": a.plot_names(), "b": b.plot_names()},
    }
