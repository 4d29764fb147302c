"""``kg_score`` and the read-only graph API: browse actions, score a slot set."""
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

FIG6 = ["AK01:ET001", "AK02:ET006", "AK04:ET005", "AK04:ET008", "AK05:ET018", "AK05:ET003"]


def test_kg_score_prints_the_score_json(graph):
    # when: --slot repeated, each with one or more slots
    out = StringIO()
    call_command("kg_score", "--action", "Standing Barbell Overhead Press", "--slot", *FIG6[:2],
                 "--slot", FIG6[2], "--slot", *FIG6[3:], stdout=out)
    # then
    body = json.loads(out.getvalue())
    assert {k: body[k] for k in ("action", "graph_version", "total", "penalty", "score")} == {
        "action": "Standing Barbell Overhead Press", "graph_version": 1, "total": 161, "penalty": 37, "score": 77.02}
    assert [(m["slot"], m["weight"], m["phase"]) for m in body["marked"]] == [
        ("AK01:ET001", 6, "Preparation"), ("AK02:ET006", 6, "Preparation"), ("AK04:ET005", 5, "Concentric"),
        ("AK04:ET008", 6, "Concentric"), ("AK05:ET003", 9, "Eccentric"), ("AK05:ET018", 5, "Eccentric")]
    assert body["penalty_by_phase"] == [{"phase": "Preparation", "penalty": 12, "total": 81},
                                        {"phase": "Concentric", "penalty": 11, "total": 44},
                                        {"phase": "Eccentric", "penalty": 14, "total": 36}]


def test_kg_score_unknown_slot_exits_non_zero_listing_the_valid_slots(graph):
    with pytest.raises(CommandError, match="unknown_slot") as info:
        call_command("kg_score", "--action", "Squat", "--slot", "AK01:ET001")
    assert "AK56:ET061 (w9, Preparation)" in str(info.value)


def test_kg_score_unknown_action_exits_non_zero_listing_the_actions(graph):
    with pytest.raises(CommandError, match="unknown_action") as info:
        call_command("kg_score", "--action", "Bench", "--slot", "AK01:ET001")
    assert "A16 Squat" in str(info.value)


def test_kg_score_without_a_graph_says_how_to_load_one(empty_graph_tables):
    with pytest.raises(CommandError, match="no_graph.*load_flex_kg"):
        call_command("kg_score", "--action", "Squat")


def test_score_api_answers_what_the_command_prints(graph, api_client_for):
    # given
    client, _ = api_client_for("annotator")
    out = StringIO()
    call_command("kg_score", "--action", "Standing Barbell Overhead Press", "--slot", *FIG6, stdout=out)
    # when
    response = client.post("/api/kg/score/", {"action": "Standing Barbell Overhead Press", "slots": FIG6},
                           format="json")
    # then
    assert response.status_code == 200
    assert response.json() == json.loads(out.getvalue())


def test_score_api_refuses_unknown_slots_with_the_valid_list(graph, api_client_for):
    client, _ = api_client_for("annotator")
    response = client.post("/api/kg/score/", {"action": "A16", "slots": ["AK99:ET001"]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_slot"
    assert error["fields"]["slots"] == ["AK99:ET001"]
    assert len(error["fields"]["valid"]) == 18


def test_score_api_unknown_action_is_404(graph, api_client_for):
    client, _ = api_client_for("annotator")
    response = client.post("/api/kg/score/", {"action": "Lunge", "slots": []}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_action"


def test_action_list_and_detail_show_phases_rows_and_slots_with_weights(graph, api_client_for):
    # given
    client, _ = api_client_for("annotator")
    # when
    actions = client.get("/api/kg/actions/").json()["results"]
    curl = next(a for a in actions if a["name"] == "Dumbbell Biceps Curl")
    detail = client.get(f"/api/kg/actions/{curl['id']}/").json()
    # then
    assert len(actions) == 20 and curl["code"] == "A05" and curl["total_weight"] == 133
    assert [p["name"] for p in detail["phases"]] == ["Preparation", "Concentric", "Eccentric"]
    merged = detail["phases"][0]["rows"][0]
    assert [k["code"] for k in merged["keysteps"]] == ["AK01", "AK16", "AK07"]
    assert [(s["key"], s["weight"]) for s in merged["slots"]][:2] == [("AK01:ET001", 6), ("AK01:ET002", 9)]
    assert sum(p["total"] for p in detail["phases"]) == detail["total_weight"] == 133
    assert detail["slot_count"] == 20


def test_error_types_and_graph_versions_are_listed(graph, api_client_for):
    client, _ = api_client_for("reviewer")
    error_types = client.get("/api/kg/error-types/").json()
    versions = client.get("/api/kg/graph-versions/").json()["results"]
    assert len(error_types) == 63 and error_types[0] == {
        "code": "ET001", "description": "Feet positioned too narrowly or too widely.", "weight": 6,
        "feedback": None, "feedback_version": None}
    assert versions[0]["number"] == 1 and versions[0]["counts"]["slots"] == 416


def test_the_openapi_schema_documents_the_kg_routes(graph, api_client_for):
    client, _ = api_client_for("admin")
    schema = client.get("/api/schema/?format=json").json()
    paths = set(schema["paths"])
    assert {"/api/kg/score/", "/api/kg/actions/{action_id}/", "/api/kg/samples/{clip_id}/stage1/",
            "/api/kg/samples/{clip_id}/review/", "/api/kg/samples/{clip_id}/stage2/", "/api/kg/label-sets/",
            "/api/kg/agreement/", "/api/kg/feedback/{code}/create/"} <= paths
