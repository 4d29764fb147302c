"""Reads behind the labelling pages: what a page needs to show one work item.

Nothing here reveals another annotator's labels to an annotator, and nothing reads hidden truth:
repetition bounds for severity voting come from the dataset's current end-point label set, or,
without one, from evenly spaced repetitions over the clip.
"""
from django.urls import reverse

from annotation.models import Assignment, ErrorSegment, FeedbackNote
from datasets.models import Clip, ErrorType, Repetition
from labelling_ui.skeletons import layout_for

Kind = Assignment.Kind


def even_repetition_bounds(*, frame_count: int, n_reps: int) -> list[tuple[int, int]]:
    """``n_reps`` equal, contiguous spans covering frames 0..frame_count-1."""
    if n_reps <= 0:
        return []
    edges = [round(i * frame_count / n_reps) for i in range(n_reps + 1)]
    return [(edges[i], max(edges[i], edges[i + 1] - 1)) for i in range(n_reps)]


def repetition_bounds(*, clip: Clip) -> tuple[list[dict], str]:
    """The clip's repetitions with start/end frames, and where the bounds came from.

    Source: the current end-point label set of the clip's dataset when it has this clip
    (``"label_set:<number>"``), else evenly spaced (``"even"``). Never hidden truth.
    """
    reps = list(Repetition.objects.filter(clip=clip).order_by("index").values("id", "index"))
    from_set = _label_set_bounds(clip=clip, n_reps=len(reps))
    if from_set is not None:
        bounds, source = from_set
    else:
        bounds, source = even_repetition_bounds(frame_count=clip.frame_count, n_reps=len(reps)), "even"
    return [dict(r, start=s, end=e) for r, (s, e) in zip(reps, bounds)], source


def _label_set_bounds(*, clip: Clip, n_reps: int):
    """Bounds from the dataset's current end-point label set, when it has this clip with
    ``n_reps`` consensus ends (a repetition starts one frame after the previous end; the first
    at frame 0). None otherwise, and for a clip whose annotators disagree."""
    from annotation.models import EndPointLabel, LabelSet

    label = (EndPointLabel.objects.filter(clip=clip, label_set__dataset_id=clip.dataset_id,
                                          label_set__kind=LabelSet.Kind.ENDPOINTS, label_set__is_current=True)
             .select_related("label_set").first())
    if label is None or label.disagree or n_reps == 0 or len(label.ends) != n_reps:
        return None
    ends = [min(max(int(round(e)), 0), clip.frame_count - 1) for e in label.ends]
    starts = [0] + [e + 1 for e in ends[:-1]]
    return [(s, max(s, e)) for s, e in zip(starts, ends)], f"label_set:{label.label_set.number}"


def _clip_block(clip: Clip) -> dict:
    exercise = clip.exercise
    layout = layout_for(exercise.skeleton_layout, exercise.dims)
    return {
        "id": clip.pk,
        "external_id": clip.external_id,
        "fps": clip.fps,
        "frame_count": clip.frame_count,
        "exercise": {"id": exercise.pk, "name": exercise.name, "slug": exercise.slug},
        "dims": exercise.dims,
        "joint_count": exercise.joint_count,
        "skeleton_layout": exercise.skeleton_layout,
        "bones": layout["bones"],
        "y_down": layout["y_down"],
        "pose_url": reverse("clip-pose", args=[clip.pk]) if clip.pose_file else None,
        "video_url": reverse("labelling_ui:clip-video", args=[clip.pk]) if clip.video_file else None,
    }


def _error_types(clip: Clip) -> list[dict]:
    return [
        {"id": e.pk, "code": e.code, "description": e.description, "generic_name": e.generic_name}
        for e in ErrorType.objects.filter(exercise_id=clip.exercise_id).order_by("code")
    ]


def item_context(*, assignment: Assignment) -> dict:
    """Everything one labelling page needs for one leased item of its annotator."""
    clip = Clip.objects.select_related("exercise", "dataset").get(pk=assignment.clip_id)
    context = {
        "assignment": {"id": assignment.pk, "kind": assignment.kind, "state": assignment.state,
                       "lease_expires_at": assignment.lease_expires_at.isoformat()
                       if assignment.lease_expires_at else None},
        "dataset": {"id": clip.dataset_id, "name": clip.dataset.name},
        "clip": _clip_block(clip),
    }
    if assignment.kind in (Kind.SEVERITY, Kind.SEGMENTS):
        context["error_types"] = _error_types(clip)
    if assignment.kind == Kind.SEVERITY:
        context["repetitions"], context["repetition_source"] = repetition_bounds(clip=clip)
    if assignment.kind == Kind.SEGMENTS:
        # Only the annotator's own rows (e.g. added through the API before opening the page).
        context["mine"] = [
            {"error_type": s.error_type_id, "start_frame": s.start_frame, "end_frame": s.end_frame}
            for s in ErrorSegment.objects.filter(clip=clip, annotator_id=assignment.annotator_id)
            .order_by("start_frame", "pk")
        ]
    if assignment.kind == Kind.FEEDBACK:
        context["mine"] = [
            {"frame": n.frame, "text": n.text}
            for n in FeedbackNote.objects.filter(clip=clip, annotator_id=assignment.annotator_id)
            .order_by("frame", "pk")
        ]
    return context
