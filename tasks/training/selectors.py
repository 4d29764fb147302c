"""Reads of model runs. Runs are for admins: anyone else sees none (and the API answers 403 first)."""
from django.db.models import QuerySet

from annotation.roles import ADMIN, has_role
from config.exceptions import DomainError, NotFoundError
from tasks.models import ModelRun


def model_run_list_for_user(*, user, kind=None, dataset_id=None) -> QuerySet:
    qs = ModelRun.objects.select_related("dataset", "launched_by", "split_version", "job")
    if not has_role(user, ADMIN):
        return qs.none()
    if kind:
        qs = qs.filter(kind=kind)
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    return qs


def model_run_get_for_user(*, user, run_id) -> ModelRun:
    try:
        return model_run_list_for_user(user=user).get(pk=run_id)
    except (ModelRun.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Model run {run_id} not found.", code="model_run_not_found") from None


def model_run_pair_for_user(*, user, a, b) -> tuple[ModelRun, ModelRun]:
    """The two runs of a comparison; both ids are required."""
    missing = [name for name, value in (("a", a), ("b", b)) if value in (None, "")]
    if missing:
        raise DomainError("Give two run ids: ?a=<id>&b=<id>.", code="compare_needs_two_runs",
                          fields={"missing": missing})
    return model_run_get_for_user(user=user, run_id=a), model_run_get_for_user(user=user, run_id=b)
