"""Reads of the FLEX graph, samples, raw slot labels, label sets and feedback texts.

Every fetch by a client-supplied id is scoped to the user: samples go through
``datasets.selectors.clip_get_for_user`` (404 for a clip an annotator holds no assignment for);
label sets and hidden truth are for curators and admins only (enforced by the views).
"""
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from annotation.models import Assignment
from config.exceptions import DomainError, NotFoundError
from datasets.models import Clip, Dataset, Exercise
from datasets.selectors import clip_get_for_user
from kg.core.graph import ActionSpec, FlexGraph
from kg.models import (
    FeedbackText,
    FlexLabelSet,
    FlexReview,
    FlexSampleLabel,
    FlexStage1Set,
    FlexTrueSlots,
    GraphAction,
    GraphErrorType,
    GraphPhase,
    GraphRow,
    GraphRowKeystep,
    GraphSlot,
    GraphVersion,
)
from kg.services.graph import compiled_graph


def graph_version_current() -> GraphVersion:
    version = GraphVersion.objects.filter(is_current=True).first()
    if version is None:
        raise NotFoundError("No FLEX graph is loaded; run `manage.py load_flex_kg` first.", code="no_graph")
    return version


def graph_version_get(*, number: int | None = None) -> GraphVersion:
    """The version with this number, or the current one when ``number`` is None."""
    if number is None:
        return graph_version_current()
    version = GraphVersion.objects.filter(number=number).first()
    if version is None:
        known = ", ".join(str(n) for n in GraphVersion.objects.values_list("number", flat=True)) or "none"
        raise NotFoundError(f"No graph version {number}. Known: {known}.", code="graph_version_not_found")
    return version


def graph_version_list() -> QuerySet:
    return GraphVersion.objects.defer("document").order_by("-number")


def action_list(*, graph_version: GraphVersion) -> QuerySet:
    return GraphAction.objects.filter(graph_version=graph_version).order_by("index")


def action_get(*, action_id) -> GraphAction:
    """One action with its phases -> rows -> keysteps and slots, in order, in a few queries."""
    slots = GraphSlot.objects.select_related("error_type").order_by("position")
    rows = GraphRow.objects.order_by("position").prefetch_related(
        Prefetch("row_keysteps", queryset=GraphRowKeystep.objects.select_related("keystep").order_by("position")),
        Prefetch("slots", queryset=slots),
    )
    phases = GraphPhase.objects.order_by("position").prefetch_related(Prefetch("rows", queryset=rows))
    try:
        return (GraphAction.objects.select_related("graph_version")
                .prefetch_related(Prefetch("phases", queryset=phases)).get(pk=action_id))
    except (GraphAction.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Action {action_id} not found.", code="action_not_found") from None


def action_tree_get(*, action_id) -> dict:
    """One action as phases (in order) -> rows -> keysteps and slots with weights, plus totals."""
    action = action_get(action_id=action_id)
    phases = []
    for phase in action.phases.all():
        rows = [{"position": row.position,
                 "keysteps": [{"code": rk.keystep.code, "description": rk.keystep.description}
                              for rk in row.row_keysteps.all()],
                 "slots": [{"key": s.key, "position": s.position, "error_type": s.error_type.code,
                            "description": s.error_type.description, "weight": s.weight}
                           for s in row.slots.all()]}
                for row in phase.rows.all()]
        phases.append({"name": phase.name, "position": phase.position, "rows": rows,
                       "total": sum(s["weight"] for r in rows for s in r["slots"])})
    return {"id": action.pk, "code": action.code, "index": action.index, "name": action.name,
            "graph_version": action.graph_version.number, "total_weight": action.total_weight,
            "slot_count": sum(len(r["slots"]) for p in phases for r in p["rows"]), "phases": phases}


def action_spec_get(*, graph: FlexGraph, action: str) -> ActionSpec:
    """An action of the graph by name or ``A01`` code; the error lists the known actions."""
    spec = graph.action(action)
    if spec is None:
        known = "; ".join(f"{a.code} {a.name}" for a in graph.actions)
        raise NotFoundError(f"Unknown action {action!r}. Known actions: {known}.", code="unknown_action",
                            fields={"action": [f"Unknown action {action!r}."],
                                    "known": [a.name for a in graph.actions]})
    return spec


def error_type_list(*, graph_version: GraphVersion) -> QuerySet:
    return GraphErrorType.objects.filter(graph_version=graph_version).order_by("code")


def error_type_rows(*, graph_version: GraphVersion) -> list[dict]:
    """Error types with weights and their current feedback text (None when none was written)."""
    texts = feedback_current_map()
    return [{"code": e.code, "description": e.description, "weight": e.weight,
             "feedback": texts[e.code].text if e.code in texts else None,
             "feedback_version": texts[e.code].version if e.code in texts else None}
            for e in error_type_list(graph_version=graph_version)]


def action_for_exercise(*, graph: FlexGraph, exercise: Exercise) -> ActionSpec | None:
    """The graph action a dataset exercise stands for: same name (case-insensitive), or a slug
    that is the action's code (``a01``)."""
    return graph.action(exercise.name) or graph.action(exercise.slug)


@dataclass(frozen=True)
class FlexSample:
    """A clip seen as a FLEX sample: its clip, the graph version used and its action there."""

    clip: Clip
    graph_version: GraphVersion
    graph: FlexGraph
    action: ActionSpec

    @property
    def db_action(self) -> GraphAction:
        return GraphAction.objects.get(graph_version=self.graph_version, index=self.action.index)


def sample_get_for_user(*, user, clip_id) -> FlexSample:
    """The clip as a FLEX sample of the current graph, scoped to the user (404 when not visible)."""
    clip = clip_get_for_user(user=user, clip_id=clip_id)
    version = graph_version_current()
    graph = compiled_graph(version)
    action = action_for_exercise(graph=graph, exercise=clip.exercise)
    if action is None:
        raise DomainError(
            f"Clip {clip.pk} is of exercise {clip.exercise.name!r}, which is not an action of FLEX graph "
            f"v{version.number}.", code="not_a_flex_sample",
        )
    return FlexSample(clip=clip, graph_version=version, graph=graph, action=action)


def stage1_sets_for_clip(*, clip) -> list[FlexStage1Set]:
    return list(FlexStage1Set.objects.filter(clip=clip).order_by("created_at", "id"))


def reviews_for_clip(*, clip) -> list[FlexReview]:
    return list(FlexReview.objects.filter(clip=clip).order_by("created_at", "id"))


def assignment_held(*, user, clip, kind) -> bool:
    return Assignment.objects.filter(annotator=user, clip=clip, kind=kind).exists()


def label_set_list(*, dataset_id=None) -> QuerySet:
    qs = FlexLabelSet.objects.select_related("dataset", "graph_version")
    if dataset_id is not None:
        qs = qs.filter(dataset_id=dataset_id)
    return qs.order_by("dataset_id", "-number")


def label_set_get(*, label_set_id) -> FlexLabelSet:
    try:
        return FlexLabelSet.objects.select_related("dataset", "graph_version").get(pk=label_set_id)
    except (FlexLabelSet.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"FLEX label set {label_set_id} not found.", code="label_set_not_found") from None


def label_set_current(*, dataset: Dataset) -> FlexLabelSet | None:
    return FlexLabelSet.objects.select_related("graph_version").filter(dataset=dataset, is_current=True).first()


def label_set_samples(*, label_set: FlexLabelSet, status: str | None = None,
                      action_index: int | None = None) -> QuerySet:
    qs = FlexSampleLabel.objects.filter(label_set=label_set)
    if status:
        qs = qs.filter(status=status)
    if action_index is not None:
        qs = qs.filter(action_index=action_index)
    return qs.order_by("clip_id")


def feedback_current_map(*, codes=None) -> dict[str, FeedbackText]:
    """The newest feedback text of every error-type code (or of ``codes``)."""
    qs = FeedbackText.objects.select_related("created_by").order_by("error_code", "-version")
    if codes is not None:
        qs = qs.filter(error_code__in=list(codes))
    current: dict[str, FeedbackText] = {}
    for text in qs:
        current.setdefault(text.error_code, text)
    return current


def feedback_history(*, error_code: str) -> QuerySet:
    return FeedbackText.objects.select_related("created_by").filter(error_code=error_code).order_by("-version")


def feedback_history_get(*, error_code: str) -> dict:
    """Every version of one error type's feedback text, newest first (404 for a code the current
    graph lacks)."""
    code = error_code.strip().upper()
    graph = compiled_graph(graph_version_current())
    if code not in graph.error_types:
        raise NotFoundError(f"Unknown error type {error_code!r}.", code="unknown_error_type")
    versions = list(feedback_history(error_code=code))
    description, weight = graph.error_types[code]
    return {"error_code": code, "description": description, "weight": weight,
            "current_version": versions[0].version if versions else None, "versions": versions}


def true_slots_get(*, clip) -> FlexTrueSlots:
    """Hidden truth of a synthetic sample (curators and evaluation code only)."""
    truth = FlexTrueSlots.objects.select_related("graph_version").filter(clip=clip).first()
    if truth is None:
        raise NotFoundError("This sample has no hidden truth (not synthetic).", code="truth_not_found")
    return truth
