"""Annotator and reviewer pages: one page per kind of label, driven by the work queue.

The page itself is a shell; its JavaScript takes the next item from ``/api/queue/next/``, reads
the item's context from ``item_context_view`` (page-specific JSON) and the pose array from
``/api/clips/<id>/pose/``, and submits through the label APIs.
"""
import mimetypes
import re

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from annotation.models import Assignment
from annotation.roles import has_role
from annotation.apis_queue import QueueItemOutput
from annotation.services.queue import KIND_ROLES, kinds_for_dataset, may_take, queue_next
from config.exceptions import DomainError
from datasets.models import Dataset
from datasets.selectors import clip_get_for_user
from labelling_ui.access import ANYONE, role_required
from labelling_ui.selectors import item_context

Kind = Assignment.Kind

TEMPLATES = {
    Kind.ENDPOINTS: "labelling_ui/annotate/endpoints.html",
    Kind.SEVERITY: "labelling_ui/annotate/severity.html",
    Kind.SEGMENTS: "labelling_ui/annotate/segments.html",
    Kind.FEEDBACK: "labelling_ui/annotate/feedback.html",
    Kind.FLEX_STAGE1: "labelling_ui/annotate/flex.html",
    Kind.FLEX_STAGE2: "labelling_ui/annotate/flex.html",
}

TITLES = {
    Kind.ENDPOINTS: "Repetition end points",
    Kind.SEVERITY: "Severity votes",
    Kind.SEGMENTS: "Error segments",
    Kind.FEEDBACK: "Coaching feedback",
    Kind.FLEX_STAGE1: "FLEX checklist",
    Kind.FLEX_STAGE2: "FLEX review",
}


@role_required(*ANYONE)
def annotate_page(request, dataset_id: int, kind: str):
    if kind not in TEMPLATES:
        raise Http404("Unknown kind of label.")
    if not may_take(request.user, kind):
        raise PermissionDenied(f"Your role may not take {kind} items.")
    dataset = get_object_or_404(Dataset, pk=dataset_id)
    if kind not in kinds_for_dataset(dataset):
        raise Http404(f"{dataset.name} has no {kind} work.")
    initial = _initial_item(request.user, dataset, kind)
    page = {
        "initial": initial,
        "kind": kind,
        "dataset": {"id": dataset.pk, "name": dataset.name},
        "user": request.user.pk,
        "urls": {
            "next": reverse("queue-next"),
            "release": reverse("queue-release"),
            "complete": reverse("queue-complete"),
            "context": reverse("labelling_ui:item-context", args=[0]),
            "score": "/api/kg/score/",
            "home": reverse("labelling_ui:home"),
        },
    }
    pose_url = initial and initial["context"]["clip"]["pose_url"]
    return render(request, TEMPLATES[kind], {"page": page, "kind": kind, "title": TITLES[kind], "pose_url": pose_url,
                                             "dataset": dataset, "review": kind == Kind.FLEX_STAGE2})


def _initial_item(user, dataset: Dataset, kind: str) -> dict | None:
    """The first item, leased while the page renders: the browser then needs only the pose
    (which the page preloads) before it can draw. Idempotent like ``POST /api/queue/next/``."""
    try:
        assignment = queue_next(user=user, dataset=dataset, kind=kind)
    except DomainError:
        return None
    if assignment is None:
        return None
    try:
        context = item_payload(user=user, assignment=assignment)
    except DomainError:
        return None  # the page asks again and shows the reason
    return {"item": QueueItemOutput(assignment).data, "context": context}


def item_payload(*, user, assignment: Assignment) -> dict:
    context = item_context(assignment=assignment)
    if assignment.kind in (Kind.FLEX_STAGE1, Kind.FLEX_STAGE2):
        from labelling_ui.flex import flex_context

        context["flex"] = flex_context(user=user, assignment=assignment)
    return context


@require_GET
@role_required(*ANYONE)
def item_context_view(request, assignment_id: int):
    """Page-specific JSON: one of your items with what its page shows (never others' labels)."""
    assignment = Assignment.objects.filter(pk=assignment_id, annotator=request.user).first()
    if assignment is None:
        return JsonResponse({"error": {"code": "assignment_not_found", "detail": "Not found."}}, status=404)
    if not has_role(request.user, *KIND_ROLES[assignment.kind]):
        raise PermissionDenied("Your role may not take this kind of item.")
    try:
        context = item_payload(user=request.user, assignment=assignment)
    except DomainError as exc:
        return JsonResponse({"error": {"code": exc.code, "detail": exc.detail}}, status=exc.status_code)
    return JsonResponse(context)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_GET
@role_required(*ANYONE)
def clip_video(request, clip_id: int):
    """The clip's video, with HTTP Range support so the browser can seek to an exact frame.

    Scoped like every clip read: an annotator without an assignment on the clip gets 404.
    """
    try:
        clip = clip_get_for_user(user=request.user, clip_id=clip_id)
    except DomainError:
        raise Http404("Clip not found.") from None
    if not clip.video_file:
        raise Http404("This clip has no video.")
    try:
        handle = clip.video_file.open("rb")
        size = clip.video_file.size
    except (FileNotFoundError, OSError):
        raise Http404("The video file is missing from storage.") from None
    content_type = mimetypes.guess_type(clip.video_file.name)[0] or "video/mp4"
    match = _RANGE.match(request.headers.get("Range", ""))
    if not match or (not match.group(1) and not match.group(2)):
        response = FileResponse(handle, content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, max-age=3600"
        return response
    first, last = match.group(1), match.group(2)
    if first:
        start, end = int(first), int(last) if last else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    end = min(end, size - 1)
    if start > end or start >= size:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle.seek(start)
    data = handle.read(end - start + 1)
    handle.close()
    response = HttpResponse(data, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, max-age=3600"
    return response
