from django.db.models import QuerySet

from annotation.roles import ADMIN, has_role, is_staff_role
from config.exceptions import NotFoundError
from tasks.models import Job


def job_list_for_user(*, user, kind=None, dataset_id=None, state=None) -> QuerySet:
    """Curators and admins see every job; anyone else only the jobs they launched."""
    qs = Job.objects.select_related("dataset", "launched_by")
    if not is_staff_role(user):
        qs = qs.filter(launched_by=user)
    if kind:
        qs = qs.filter(kind=kind)
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    if state:
        qs = qs.filter(state=state)
    return qs


def job_get_for_user(*, user, job_id) -> Job:
    try:
        return job_list_for_user(user=user).get(pk=job_id)
    except (Job.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Job {job_id} not found.", code="job_not_found") from None


def job_may_cancel(*, user, job) -> bool:
    return has_role(user, ADMIN) or job.launched_by_id == user.pk
