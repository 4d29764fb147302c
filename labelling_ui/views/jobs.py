"""Job pages: launch any job kind the role may launch, watch progress and log lines live
(htmx polling), cancel. Curators launch curator kinds; admins every kind."""
import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from annotation.roles import ADMIN, has_role, user_roles
from config.exceptions import DomainError
from datasets.models import Dataset
from labelling_ui.access import CURATE, role_required
from tasks import registry
from tasks.models import Job
from tasks.selectors import job_get_for_user, job_list_for_user, job_may_cancel
from tasks.services import job_cancel, job_launch

# Fields of the launch form that are not job parameters.
def launchable_kinds(user) -> list[str]:
    admin = has_role(user, ADMIN)
    return [k.name for k in registry.all_kinds().values() if admin or k.role == "curator"]


@require_GET
@role_required(*CURATE)
def jobs_page(request):
    jobs = job_list_for_user(user=request.user)
    kind = request.GET.get("kind")
    if kind:
        jobs = jobs.filter(kind=kind)
    return render(request, "labelling_ui/jobs/index.html", {
        "jobs": jobs[:50],
        "datasets": Dataset.objects.order_by("name"),
        "launchable": launchable_kinds(request.user),
        "roles": sorted(user_roles(request.user)),
        "filter_kind": kind or "",
    })


_JSON_FIELDS = (serializers.DictField, serializers.JSONField, serializers.ListField)


def _params_from_form(post, kind_name: str) -> dict:
    """Form fields named ``param_<name>``; blanks are left out so the kind's defaults apply.

    Scalar values stay strings: the kind's serializer parses them (as it does for the CLI).
    Object and list parameters are typed as JSON in the form and parsed here."""
    fields = registry.get_kind(kind_name).params().fields
    params = {}
    for key in post:
        if key.startswith("param_"):
            values = [v for v in post.getlist(key) if v != ""]
            if values:
                name = key.removeprefix("param_")
                value = values[-1]
                if isinstance(fields.get(name), _JSON_FIELDS):
                    value = json.loads(value)
                params[name] = value
    return params


@require_POST
@role_required(*CURATE)
def job_launch_view(request):
    kind = request.POST.get("kind", "")
    dataset = None
    if request.POST.get("dataset"):
        dataset = Dataset.objects.filter(pk=request.POST["dataset"]).first()
        if dataset is None:
            messages.error(request, "Unknown dataset.")
            return redirect(_back(request))
    try:
        raw = _params_from_form(request.POST, kind)
        job = job_launch(kind=kind, dataset=dataset, params=raw, user=request.user)
    except json.JSONDecodeError:
        messages.error(request, "An object or list parameter is not valid JSON.")
        return redirect(_back(request))
    except DomainError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.detail) from None
        messages.error(request, f"{exc.code}: {exc.detail}")
        return redirect(_back(request))
    url = reverse("labelling_ui:job-detail", args=[job.pk])
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _back(request) -> str:
    nxt = request.POST.get("next", "")
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else reverse("labelling_ui:jobs")


def _job_context(request, job: Job) -> dict:
    return {
        "job": job,
        "finished": job.state in Job.FINISHED_STATES,
        "may_cancel": job_may_cancel(user=request.user, job=job) and job.state not in Job.FINISHED_STATES,
        "log_tail": job.log[-200:],
        "result_json": json.dumps(job.result, indent=2, sort_keys=True) if job.result is not None else "",
        "links": _result_links(job),
    }


def _result_links(job: Job) -> list[tuple[str, str]]:
    """Links to what a finished job made (a label set, a split, a run)."""
    result = job.result or {}
    links = []
    if job.dataset_id and any(k in result for k in ("label_set_id", "label_set", "flex_label_set_id")):
        links.append(("Label sets of " + (job.dataset.name if job.dataset else ""),
                      reverse("labelling_ui:curate-label-sets", args=[job.dataset_id])))
    if job.dataset_id and any(k in result for k in ("split_version", "split_version_id", "export_id")):
        links.append(("Splits and exports", reverse("labelling_ui:curate-splits", args=[job.dataset_id])))
    if "run_id" in result:
        links.append((f"Model run {result['run_id']}", reverse("labelling_ui:run-detail", args=[result["run_id"]])))
    return links


@require_GET
@role_required(*CURATE)
def job_detail(request, job_id: int):
    job = job_get_for_user(user=request.user, job_id=job_id)
    return render(request, "labelling_ui/jobs/detail.html", _job_context(request, job))


@require_GET
@role_required(*CURATE)
def job_progress(request, job_id: int):
    """The live part of the job page, polled by htmx every second until the job has finished."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    return render(request, "labelling_ui/jobs/_progress.html", _job_context(request, job))


@require_POST
@role_required(*CURATE)
def job_cancel_view(request, job_id: int):
    job = job_get_for_user(user=request.user, job_id=job_id)
    if not job_may_cancel(user=request.user, job=job):
        raise PermissionDenied("Only an admin or the job's launcher may cancel it.")
    try:
        job = job_cancel(job=job)
    except DomainError as exc:
        messages.error(request, exc.detail)
        job.refresh_from_db()
    if request.headers.get("HX-Request") == "true":
        return render(request, "labelling_ui/jobs/_progress.html", _job_context(request, job))
    return redirect("labelling_ui:job-detail", job_id=job.pk)
