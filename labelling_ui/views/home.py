"""The home page: routes each role to its pages."""
from django.shortcuts import render

from annotation.roles import ADMIN, CURATOR, has_role, user_roles
from annotation.services.queue import kinds_for_dataset, may_take, queue_open_count
from datasets.models import Dataset
from labelling_ui.access import ANYONE, role_required
from labelling_ui.views.annotate import TITLES


@role_required(*ANYONE)
def home(request):
    work = []
    for dataset in Dataset.objects.order_by("name"):
        kinds = [
            {"kind": kind, "title": TITLES[kind],
             "open": queue_open_count(user=request.user, dataset=dataset, kind=kind)}
            for kind in kinds_for_dataset(dataset) if may_take(request.user, kind)
        ]
        if kinds:
            work.append({"dataset": dataset, "kinds": kinds})
    return render(request, "labelling_ui/home.html", {
        "work": work,
        "roles": sorted(user_roles(request.user)),
        "is_curator": has_role(request.user, CURATOR, ADMIN),
        "is_admin": has_role(request.user, ADMIN),
    })
