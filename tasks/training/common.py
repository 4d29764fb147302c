"""What every training job shares: parameter fields, the estimator factory, input hashing, timing."""
from __future__ import annotations

import hashlib
import json
import time

import numpy as np
from rest_framework import serializers

from config.exceptions import DomainError
from tasks.core.estimators import estimator_names, get_estimator_class, make_estimator

__all__ = [
    "JSONObjectField",
    "existing_run_result",
    "TrainingParams",
    "Timer",
    "build_estimator",
    "input_hash",
    "jsonable",
]


class JSONObjectField(serializers.Field):
    """A JSON object given as a dict (API) or as a JSON string (``--param key='{"a": 1}'``)."""

    default_error_messages = {"invalid": "Expected a JSON object."}

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except json.JSONDecodeError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class TrainingParams(serializers.Serializer):
    """Parameters common to every training kind."""

    split_version = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="Split version id; default: the dataset's newest split version.")
    estimator = serializers.CharField(default="hgb", help_text="Registered estimator name (e.g. hgb, linear).")
    estimator_params = JSONObjectField(default=dict, help_text="Keyword hyperparameters for the estimator.")
    seed = serializers.IntegerField(default=0, min_value=0, help_text="Random seed: same inputs + seed = same run.")
    feature_length = serializers.IntegerField(default=8, min_value=4, max_value=64,
                                              help_text="Frames each repetition is resampled to.")

    #: The task the kind's estimator performs (set by subclasses).
    estimator_task = "regression"

    def validate_estimator(self, value):
        if value not in estimator_names():
            raise serializers.ValidationError(f"Unknown estimator {value!r}; known: {', '.join(estimator_names())}.")
        return value

    def validate(self, attrs):
        # Build the estimator once so a wrong name or hyperparameter fails at launch, not in the worker.
        try:
            build_estimator(attrs["estimator"], task=self.estimator_task, params=attrs.get("estimator_params") or {},
                            seed=attrs.get("seed", 0))
        except DomainError as exc:
            raise serializers.ValidationError({"estimator_params": [exc.detail]}) from None
        return attrs


def build_estimator(name: str, *, task: str, params: dict, seed: int, input_spec: dict | None = None):
    """An unfitted estimator; a wrong name, task or hyperparameter is a DomainError."""
    try:
        cls = get_estimator_class(name)
    except (KeyError, ImportError) as exc:
        raise DomainError(str(exc), code="unknown_estimator") from None
    if task not in getattr(cls, "supported_tasks", ()):
        raise DomainError(f"Estimator {name!r} cannot do {task}.", code="estimator_task_mismatch")
    try:
        return make_estimator(name, task=task, input_spec=input_spec, random_state=seed, **params)
    except (TypeError, ValueError) as exc:
        raise DomainError(f"Invalid estimator parameters for {name!r}: {exc}",
                          code="invalid_estimator_params") from None


def existing_run_result(job) -> dict | None:
    """The result of a run this job already wrote (a worker that died after the run's transaction
    committed but before the job was marked succeeded); the re-delivered job returns it as is."""
    from tasks.models import ModelRun

    run = ModelRun.objects.filter(job=job).first()
    if run is None:
        return None
    return {"run_id": run.pk, "headline": run.headline, "duration_s": run.duration_s, "reused": True}


def input_hash(*parts) -> str:
    """SHA-256 over arrays and JSON-able values: names exactly what a run trained and tested on."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str(part.dtype).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"|")
    return digest.hexdigest()


def jsonable(value):
    """Plain JSON types (NaN -> None) from numpy scalars and arrays, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if not np.isfinite(value) else round(value, 6)
    return value


class Timer:
    def __init__(self):
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)
