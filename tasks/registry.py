"""The registry of job kinds. Each app declares its kinds in its own ``jobs.py``::

    class AggregateParams(serializers.Serializer):
        method = serializers.ChoiceField(["all", "mean"], default="all")

    @job_kind("aggregate_severity", params=AggregateParams, role="curator")
    def aggregate_severity(*, job, progress, method):
        ...
        return {"label_set_id": 12}

The run function gets the Job row, a :class:`tasks.progress.JobProgress` and the validated
parameters as keywords; it returns a JSON-serialisable result dict. ``role`` is who may launch
it ("curator" means curators and admins, "admin" admins only). ``queue`` is the Celery queue:
"training" for model training, so aggregation never waits behind it.
"""
from dataclasses import dataclass, field
from typing import Callable

from django.utils.module_loading import autodiscover_modules
from rest_framework import serializers

from config.exceptions import DomainError


class NoParams(serializers.Serializer):
    pass


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable
    params: type[serializers.Serializer] = NoParams
    queue: str = "default"
    role: str = "curator"
    needs_dataset: bool = True
    description: str = ""
    extra: dict = field(default_factory=dict)


_REGISTRY: dict[str, JobKind] = {}


def job_kind(name, *, params=NoParams, queue="default", role="curator", needs_dataset=True,
             description=""):
    def register(run):
        _REGISTRY[name] = JobKind(
            name=name, run=run, params=params, queue=queue, role=role,
            needs_dataset=needs_dataset, description=description or (run.__doc__ or "").strip(),
        )
        return run

    return register


def autodiscover():
    autodiscover_modules("jobs")


def all_kinds() -> dict[str, JobKind]:
    return dict(sorted(_REGISTRY.items()))


def get_kind(name: str) -> JobKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DomainError(
            f"Unknown job kind {name!r}. Known kinds: {', '.join(sorted(_REGISTRY))}.",
            code="unknown_job_kind",
        ) from None


def validate_params(kind: JobKind, raw: dict) -> dict:
    """Validate raw parameters (strings from the CLI or JSON values) against the kind's serializer."""
    if not isinstance(raw, dict):
        raise DomainError("Job parameters must be an object.", code="invalid_params")
    known = set(kind.params().fields)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise DomainError(
            f"Unknown parameter(s) for {kind.name}: {', '.join(unknown)}. "
            f"Known: {', '.join(sorted(known)) or 'none'}.",
            code="unknown_param",
            fields={"unknown": unknown, "known": sorted(known)},
        )
    serializer = kind.params(data=raw)
    if not serializer.is_valid():
        raise DomainError(
            f"Invalid parameter(s) for {kind.name}: {dict(serializer.errors)}",
            code="invalid_param",
            fields=serializer.errors,
        )
    return dict(serializer.validated_data)
