"""Curator pages over label sets: agreement per error type (against the Halo target) and per
annotator, annotator reliability (Dawid-Skene confusion matrices), the BMM fit per error type,
label sets (compare, set current) and disagreeing clips (send back to the queue).

Reads go through ``labelling_ui.selectors_curate``; the two writes call the aggregation
platform's ``label_set_set_current`` and the queue's ``clip_send_back``.
"""
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.models import LabelSet
from annotation.services.queue import clip_send_back
from config.exceptions import DomainError
from labelling_ui import selectors_curate as sel
from labelling_ui.access import CURATE, role_required
from labelling_ui.views.curate import dataset_for_curator


@require_GET
@role_required(*CURATE)
def agreement(request, dataset_id: int):
    dataset = dataset_for_curator(dataset_id)
    report = sel.agreement_report_pick(dataset=dataset, report_id=request.GET.get("report"))
    context = {"dataset": dataset, "tab": "agreement", "report": report,
               "reports": dataset.agreement_reports.order_by("-created_at", "-id")[:20]}
    if report is not None:
        types = sel.error_type_rows(report=report)
        annotators = sorted(sel.annotator_rows(report=report), key=lambda r: (r["kappa1"] is None, r["kappa1"] or 0))
        context.update({
            "error_types": types,
            "annotators": annotators,
            "types_chart": sel.bar_chart(types, value="kappa1", target="target_kappa1", reference="reference_kappa1"),
            "annotators_chart": sel.bar_chart(annotators, value="kappa1", label="username"),
            "bmm_label_set": report.label_set if report.label_set_id else sel.label_set_current(
                dataset=dataset, kind=LabelSet.Kind.SEVERITY),
            "bmm_error_type": _int_or_none(request.GET.get("bmm")),
        })
    return render(request, "labelling_ui/curate/agreement.html", context)


def _int_or_none(raw):
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


@require_GET
@role_required(*CURATE)
def reliability(request, dataset_id: int):
    dataset = dataset_for_curator(dataset_id)
    report = sel.agreement_report_pick(dataset=dataset, report_id=request.GET.get("report"))
    annotators = []
    if report is not None:
        annotators = sorted(sel.annotator_rows(report=report),
                            key=lambda r: (r["ds_accuracy"] is None, r["ds_accuracy"] or 0))
    return render(request, "labelling_ui/curate/reliability.html", {
        "dataset": dataset, "tab": "reliability", "report": report, "annotators": annotators,
        "classes": [0, 1, 2, 3]})


@require_GET
@role_required(*CURATE)
def label_sets(request, dataset_id: int):
    dataset = dataset_for_curator(dataset_id)
    sets = list(sel.label_set_list(dataset=dataset))
    comparison = a = b = None
    if request.GET.get("a") and request.GET.get("b"):
        by_id = {str(s.pk): s for s in sets}
        a, b = by_id.get(request.GET["a"]), by_id.get(request.GET["b"])
        comparison = sel.label_set_compare(a=a, b=b) if a and b else {"error": "Pick two label sets of this dataset."}
    return render(request, "labelling_ui/curate/label_sets.html", {
        "dataset": dataset, "tab": "label_sets", "sets": sets, "comparison": comparison, "a": a, "b": b})


@require_POST
@role_required(*CURATE)
def set_current(request, dataset_id: int):
    from annotation.services.aggregation.label_sets import label_set_set_current

    dataset = dataset_for_curator(dataset_id)
    label_set = LabelSet.objects.filter(dataset=dataset, pk=request.POST.get("label_set") or 0).first()
    if label_set is None:
        messages.error(request, "Unknown label set.")
    else:
        try:
            label_set_set_current(label_set=label_set)
            messages.success(request, f"{label_set.get_kind_display()} v{label_set.number} is now current.")
        except DomainError as exc:
            messages.error(request, f"{exc.code}: {exc.detail}")
    return redirect(reverse("labelling_ui:curate-label-sets", args=[dataset.pk]))


@require_GET
@role_required(*CURATE)
def disagreements(request, dataset_id: int):
    dataset = dataset_for_curator(dataset_id)
    kind = request.GET.get("kind") if request.GET.get("kind") in (LabelSet.Kind.ENDPOINTS, LabelSet.Kind.SEVERITY) \
        else LabelSet.Kind.ENDPOINTS
    label_set, clips = sel.disagreeing_clips(dataset=dataset, kind=kind)
    return render(request, "labelling_ui/curate/disagreements.html", {
        "dataset": dataset, "tab": "disagreements", "kind": kind, "label_set": label_set, "clips": clips})


@require_POST
@role_required(*CURATE)
def send_back(request, dataset_id: int):
    """Send disagreeing clips back to the work queue for fresh labels of one kind."""
    dataset = dataset_for_curator(dataset_id)
    kind = request.POST.get("kind", "")
    try:
        clip_ids = [int(c) for c in request.POST.getlist("clip")]
        count = clip_send_back(dataset=dataset, clip_ids=clip_ids, kind=kind)
        messages.success(request, f"Sent {len(clip_ids)} clip(s) back to the {kind} queue "
                                  f"({count} earlier label(s) no longer count toward the quota).")
    except ValueError:
        messages.error(request, "Clip ids must be numbers.")
    except DomainError as exc:
        messages.error(request, f"{exc.code}: {exc.detail}")
    return redirect(reverse("labelling_ui:curate-disagreements", args=[dataset.pk]) + "?" + urlencode({"kind": kind}))
