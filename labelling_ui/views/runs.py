"""Model runs (admins): listed, one in detail with its plots, two compared side by side."""
import json

from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.exceptions import DomainError
from labelling_ui.access import ADMINISTER, role_required
from tasks.training.runs import model_run_compare
from tasks.training.selectors import model_run_get_for_user, model_run_list_for_user, model_run_pair_for_user


@require_GET
@role_required(*ADMINISTER)
def runs_page(request):
    runs = model_run_list_for_user(user=request.user, kind=request.GET.get("kind") or None)[:100]
    return render(request, "labelling_ui/runs/index.html", {"runs": runs})


@require_GET
@role_required(*ADMINISTER)
def run_detail(request, run_id: int):
    run = model_run_get_for_user(user=request.user, run_id=run_id)
    return render(request, "labelling_ui/runs/detail.html", {
        "run": run,
        "metrics_json": json.dumps(run.metrics.get("summary", run.metrics), indent=2, sort_keys=True, default=str),
        "params_json": json.dumps(run.params, indent=2, sort_keys=True, default=str),
        "plots": run.plot_names(),
    })


@require_GET
@role_required(*ADMINISTER)
def run_compare(request):
    error = None
    comparison = a = b = None
    try:
        a, b = model_run_pair_for_user(user=request.user, a=request.GET.get("a"), b=request.GET.get("b"))
        comparison = model_run_compare(a=a, b=b)
    except DomainError as exc:
        error = exc.detail
    return render(request, "labelling_ui/runs/compare.html", {
        "a": a, "b": b, "cmp": comparison, "error": error,
        "runs": model_run_list_for_user(user=request.user)[:100],
    })
