"""Curator pages: datasets overview, one dataset's completion and jobs, splits and exports.

Agreement, reliability, BMM plots, label sets and disagreeing clips are in ``curate_labels``.
"""
from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.models import Assignment, EndPointMark, ErrorSegment, FeedbackNote, SeverityVote
from annotation.services.queue import queue_progress
from config.exceptions import DomainError
from datasets.models import Clip, Dataset
from labelling_ui.access import CURATE, role_required
from labelling_ui.views.annotate import TITLES
from tasks.models import Job


def _label_counts() -> dict[int, dict[str, int]]:
    """Raw labels per dataset and kind, one grouped query per label table."""
    counts: dict[int, dict[str, int]] = {}

    def add(kind, rows):
        for dataset_id, n in rows:
            counts.setdefault(dataset_id, {})[kind] = n

    add("end_point_marks", EndPointMark.objects.values("clip__dataset_id").annotate(n=Count("pk"))
        .values_list("clip__dataset_id", "n"))
    add("severity_votes", SeverityVote.objects.values("repetition__clip__dataset_id").annotate(n=Count("pk"))
        .values_list("repetition__clip__dataset_id", "n"))
    add("error_segments", ErrorSegment.objects.values("clip__dataset_id").annotate(n=Count("pk"))
        .values_list("clip__dataset_id", "n"))
    add("feedback_notes", FeedbackNote.objects.values("clip__dataset_id").annotate(n=Count("pk"))
        .values_list("clip__dataset_id", "n"))
    try:
        from kg.models import FlexReview, FlexStage1Set
    except ImportError:  # the kg app is optional for this page
        return counts
    add("flex_stage1_sets", FlexStage1Set.objects.values("clip__dataset_id").annotate(n=Count("pk"))
        .values_list("clip__dataset_id", "n"))
    add("flex_reviews", FlexReview.objects.values("clip__dataset_id").annotate(n=Count("pk"))
        .values_list("clip__dataset_id", "n"))
    return counts


@require_GET
@role_required(*CURATE)
def curate_index(request):
    clips = dict(Clip.objects.values("dataset_id").annotate(n=Count("pk")).values_list("dataset_id", "n"))
    labels = _label_counts()
    rows = []
    for dataset in Dataset.objects.order_by("name"):
        progress = queue_progress(dataset=dataset)
        rows.append({
            "dataset": dataset, "clips": clips.get(dataset.pk, 0), "labels": labels.get(dataset.pk, {}),
            "progress": [dict(p, kind=k, title=TITLES[k]) for k, p in progress.items()],
        })
    return render(request, "labelling_ui/curate/index.html", {"rows": rows})


def dataset_for_curator(dataset_id) -> Dataset:
    return get_object_or_404(Dataset, pk=dataset_id)


@require_GET
@role_required(*CURATE)
def dataset_overview(request, dataset_id: int):
    dataset = dataset_for_curator(dataset_id)
    progress = queue_progress(dataset=dataset)
    leases = (Assignment.objects.filter(clip__dataset=dataset).values("kind", "state")
              .annotate(n=Count("pk")).order_by("kind", "state"))
    jobs = Job.objects.filter(dataset=dataset).select_related("launched_by")[:15]
    return render(request, "labelling_ui/curate/overview.html", {
        "dataset": dataset, "tab": "overview",
        "progress": [dict(p, kind=k, title=TITLES[k]) for k, p in progress.items()],
        "labels": _label_counts().get(dataset.pk, {}),
        "clips": Clip.objects.filter(dataset=dataset).count(),
        "assignments": list(leases),
        "jobs": jobs,
        "quick_jobs": _quick_jobs(dataset),
    })


def _quick_jobs(dataset: Dataset) -> list[str]:
    """The job kinds a curator launches from a dataset page, where registered."""
    from tasks import registry

    known = registry.all_kinds()
    wanted = ["aggregate_endpoints", "aggregate_severity", "compute_agreement", "evaluate_labels", "dataset_stats"]
    if dataset.kind == Dataset.Kind.FLEX:
        wanted = ["score_flex", "dataset_stats"]
    return [k for k in wanted if k in known and known[k].role == "curator"]


# ---------------------------------------------------------------- splits and exports

@require_GET
@role_required(*CURATE)
def dataset_splits(request, dataset_id: int):
    from datasets.exports.report import balance_json
    from datasets.exports.service import export_formats
    from datasets.selectors_splits import split_export_list, split_version_list

    dataset = dataset_for_curator(dataset_id)
    versions = list(split_version_list(dataset_id=dataset.pk)[:30])
    selected = None
    wanted = request.GET.get("version")
    if versions:
        selected = next((v for v in versions if str(v.pk) == wanted), versions[0])
    exports = list(split_export_list().filter(split_version__dataset=dataset).order_by("-created_at")[:20])
    jobs = {j.pk: j for j in Job.objects.filter(pk__in=[e.job_id for e in exports if e.job_id])}
    return render(request, "labelling_ui/curate/splits.html", {
        "dataset": dataset, "tab": "splits", "versions": versions, "selected": selected,
        "balance": balance_json(selected) if selected else None,
        "exports": [{"e": e, "job": jobs.get(e.job_id)} for e in exports], "formats": export_formats(),
    })


@require_POST
@role_required(*CURATE)
def export_launch(request, dataset_id: int):
    from datasets.exports.service import split_export_launch
    from datasets.selectors_splits import split_version_get

    dataset = dataset_for_curator(dataset_id)
    try:
        version = split_version_get(split_version_id=request.POST.get("split_version"))
        if version.dataset_id != dataset.pk:
            raise DomainError("That split version belongs to another dataset.", code="split_version_mismatch")
        options = {}
        if request.POST.get("label_set"):
            options["label_set"] = request.POST["label_set"]
        if request.POST.get("include_pose") == "on":
            options["include_pose"] = True
        export = split_export_launch(split_version=version, fmt=request.POST.get("format", ""), params=options,
                                     user=request.user)
        messages.success(request, f"Export {export.pk} launched.")
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.detail}")
    return redirect(reverse("labelling_ui:curate-splits", args=[dataset.pk]) + "#exports")


@require_GET
@role_required(*CURATE)
def export_row(request, dataset_id: int, export_id: int):
    """One export's row, polled by htmx until the export job has finished."""
    from datasets.selectors_splits import split_export_get

    export = split_export_get(export_id=export_id)
    if export.split_version.dataset_id != int(dataset_id):
        return HttpResponse(status=404)
    job = Job.objects.filter(pk=export.job_id).first() if export.job_id else None
    return render(request, "labelling_ui/curate/_export_row.html", {"dataset_id": dataset_id, "e": export, "job": job})
