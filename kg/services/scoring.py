"""Scoring a slot set against a stored graph version (``kg_score`` and ``POST /api/kg/score/``)."""
from config.exceptions import DomainError
from kg.core.scoring import UnknownSlots, score_slots
from kg.selectors import action_spec_get, graph_version_get
from kg.services.graph import compiled_graph


def slot_set_score(*, action: str, slots: list[str], graph_version_number: int | None = None) -> dict:
    """FLEX Eq. 1 for one slot set of one action; the answer names the graph version used.

    Raises ``unknown_action`` (404) listing the actions, or ``unknown_slot`` (400) listing the
    action's valid slots with their weights and phases.
    """
    version = graph_version_get(number=graph_version_number)
    graph = compiled_graph(version)
    spec = action_spec_get(graph=graph, action=action)
    try:
        result = score_slots(spec, slots)
    except UnknownSlots as exc:
        valid = [f"{s.key} (w{s.weight}, {s.phase})" for s in spec.slots]
        raise DomainError(
            f"Unknown slot(s) for {spec.name}: {', '.join(exc.unknown)}. Valid slots: {', '.join(valid)}.",
            code="unknown_slot",
            fields={"slots": exc.unknown, "valid": [s.key for s in spec.slots]},
        ) from None
    body = result.as_dict(error_types=graph.error_types)
    body["graph_version"] = version.number
    body["graph_hash"] = version.content_hash
    return body
