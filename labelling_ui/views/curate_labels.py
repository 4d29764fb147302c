"""Curator pages over label sets: agreement, annotator reliability, BMM fits, label sets,
disagreeing clips. Wired to the aggregation platform (``annotation/apis_label_sets.py``)."""
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labelling_ui.access import CURATE, role_required
from labelling_ui.views.curate import dataset_for_curator


def _page(request, dataset_id, tab, template, extra=None):
    dataset = dataset_for_curator(dataset_id)
    return render(request, template, {"dataset": dataset, "tab": tab, **(extra or {})})


@require_GET
@role_required(*CURATE)
def agreement(request, dataset_id: int):
    return _page(request, dataset_id, "agreement", "labelling_ui/curate/agreement.html")


@require_GET
@role_required(*CURATE)
def reliability(request, dataset_id: int):
    return _page(request, dataset_id, "reliability", "labelling_ui/curate/reliability.html")


@require_GET
@role_required(*CURATE)
def label_sets(request, dataset_id: int):
    return _page(request, dataset_id, "label_sets", "labelling_ui/curate/label_sets.html")


@require_GET
@role_required(*CURATE)
def disagreements(request, dataset_id: int):
    return _page(request, dataset_id, "disagreements", "labelling_ui/curate/disagreements.html")
