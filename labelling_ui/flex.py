"""The FLEX checklist a labelling page shows: phases -> rows -> slots with weights, and the
curated feedback texts of the action's error types. Built from the ``kg`` app's compiled graph,
so weights and totals are the very numbers its scoring API uses."""
from annotation.models import Assignment
from kg.selectors import feedback_current_map, sample_get_for_user
from kg.services.two_stage import review_view


def action_tree(*, sample) -> dict:
    action, graph = sample.action, sample.graph
    slots_by_row: dict[tuple[int, int], list] = {}
    for slot in action.slots:
        slots_by_row.setdefault((slot.phase_position, slot.row_position), []).append(slot)
    phases = []
    for phase in action.phases:
        rows = []
        for row in phase.rows:
            rows.append({
                "position": row.position,
                "keysteps": [{"code": k, "description": graph.keysteps.get(k, "")} for k in row.keysteps],
                "slots": [
                    {"key": s.key, "position": s.position, "error_type": s.error_type, "weight": s.weight,
                     "description": graph.error_types.get(s.error_type, ("", 0))[0]}
                    for s in slots_by_row.get((phase.position, row.position), [])
                ],
            })
        phases.append({"name": phase.name, "position": phase.position, "rows": rows})
    codes = {s.error_type for s in action.slots}
    feedback = {code: text.text for code, text in feedback_current_map(codes=codes).items()}
    return {"code": action.code, "name": action.name, "index": action.index, "total": action.total,
            "graph_version": sample.graph_version.number, "action_id": sample.db_action.pk,
            "phases": phases, "feedback": feedback}


def flex_context(*, user, assignment: Assignment) -> dict:
    sample = sample_get_for_user(user=user, clip_id=assignment.clip_id)
    out = {"action": action_tree(sample=sample)}
    if assignment.kind == Assignment.Kind.FLEX_STAGE2:
        review = review_view(user=user, sample=sample)
        out["review"] = {
            "stage1": [{"label": s["label"], "slots": s["slots"], "score": s["score"]} for s in review["stage1"]],
            "votes": review["votes"],
            "proposal": review["proposal"],
        }
    return out
