"""Curated feedback texts (versioned, through the API and the admin), a sample's feedback, and the
agreement report."""
import krippendorff
import numpy as np
import pytest

from kg.models import FeedbackText, FlexStage1Set
from kg.services.feedback import feedback_text_create
from kg.services.label_sets import flex_label_set_compute
from kg.services.synthetic import flex_demo_create
from tests.kg.factories import FlexClipFactory, FlexDatasetFactory, ReviewFactory, Stage1SetFactory


def post_text(client, code, text, based_on=None):
    return client.post(f"/api/kg/feedback/{code}/create/", {"text": text, "based_on": based_on}, format="json")


def test_feedback_is_created_edited_and_versioned_never_overwritten(graph, api_client_for):
    # given
    client, curator = api_client_for("curator")
    # when
    first = post_text(client, "et001", "Place your feet shoulder-width apart.")
    second = post_text(client, "ET001", "Place your feet shoulder-width apart, toes slightly out.", based_on=1)
    history = client.get("/api/kg/feedback/ET001/").json()
    current = client.get("/api/kg/feedback/").json()
    # then
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["error_code"] == "ET001"
    assert second.status_code == 201 and second.json()["version"] == 2
    assert [v["version"] for v in history["versions"]] == [2, 1] and history["current_version"] == 2
    assert history["versions"][1]["text"] == "Place your feet shoulder-width apart."
    assert current == [second.json()]
    assert history["weight"] == 6 and history["versions"][0]["created_by"] == curator.username


def test_a_stale_edit_is_refused(graph, api_client_for):
    client, _ = api_client_for("curator")
    post_text(client, "ET002", "Brace the core.")
    post_text(client, "ET002", "Brace the core and keep a neutral lower back.", based_on=1)
    response = post_text(client, "ET002", "Another edit of version 1.", based_on=1)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_feedback"
    assert response.json()["error"]["fields"]["current_version"] == 2
    assert FeedbackText.objects.filter(error_code="ET002").count() == 2


@pytest.mark.parametrize("code, text, expected", [
    ("ET999", "Some text.", "unknown_error_type"),
    ("ET001", "   ", "invalid_input"),
])
def test_bad_feedback_is_refused(graph, api_client_for, code, text, expected):
    client, _ = api_client_for("curator")
    response = post_text(client, code, text)
    assert response.status_code == 400 and response.json()["error"]["code"] == expected


def test_an_unchanged_text_is_refused(graph):
    feedback_text_create(error_code="ET003", text="Keep the spine neutral.")
    with pytest.raises(Exception, match="equals ET003 version 1"):
        feedback_text_create(error_code="ET003", text="Keep the spine neutral.", based_on=1)


def test_only_curators_write_feedback(graph, api_client_for):
    client, _ = api_client_for("annotator")
    assert post_text(client, "ET001", "Text.").status_code == 403
    assert client.get("/api/kg/feedback/ET001/").status_code == 200


def test_sample_feedback_lists_marked_error_types_in_phase_order(graph, api_client_for):
    # given: a final sample of the squat (Preparation, Eccentric, Concentric) with three errors
    dataset = FlexDatasetFactory()
    clip = FlexClipFactory(dataset=dataset, exercise__dataset=dataset, exercise__name="Squat")
    final = ["AK45:ET052", "AK44:ET056", "AK56:ET061"]
    for _ in range(3):
        Stage1SetFactory(clip=clip, slot_keys=final)
        ReviewFactory(clip=clip, slot_keys=final, approve=True)
    feedback_text_create(error_code="ET056", text="Push the knees out over the toes.")
    feedback_text_create(error_code="ET056", text="Push the knees out, in line with the toes.", based_on=1)
    client, _ = api_client_for("curator")
    # when: before and after a label set exists
    live = client.get(f"/api/kg/samples/{clip.pk}/feedback/").json()
    flex_label_set_compute(dataset=dataset)
    stored = client.get(f"/api/kg/samples/{clip.pk}/feedback/").json()
    # then
    assert [(i["phase"], i["error_type"]) for i in live["items"]] == [
        ("Preparation", "ET061"), ("Eccentric", "ET056"), ("Concentric", "ET052")]
    assert [i["feedback"] for i in live["items"]] == [None, "Push the knees out, in line with the toes.", None]
    assert live["items"][1]["feedback_version"] == 2
    assert live["source"] == "raw_labels" and stored["source"] == "label_set"
    assert stored["items"] == live["items"] and stored["score"] == round(100 * (1 - 29 / 132), 2)


def test_feedback_of_a_sample_that_is_not_final_is_refused(graph, api_client_for):
    clip = FlexClipFactory()
    Stage1SetFactory(clip=clip)
    client, _ = api_client_for("curator")
    response = client.get(f"/api/kg/samples/{clip.pk}/feedback/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "sample_not_final"


def test_the_admin_saves_an_edit_as_a_new_version(graph, admin_client):
    # given
    text = feedback_text_create(error_code="ET004", text="Depress the shoulders.")
    # when
    response = admin_client.post(f"/admin/kg/feedbacktext/{text.pk}/change/",
                                 {"text": "Depress and retract the shoulders.", "note": "clearer"})
    # then
    assert response.status_code == 302
    assert list(FeedbackText.objects.filter(error_code="ET004").order_by("version").values_list("version", "text")) == [
        (1, "Depress the shoulders."), (2, "Depress and retract the shoulders.")]


def test_the_admin_adds_a_first_version(graph, admin_client):
    response = admin_client.post("/admin/kg/feedbacktext/add/", {"error_code": "et005", "text": "Stay still."})
    assert response.status_code == 302
    assert FeedbackText.objects.get().error_code == "ET005"


def test_agreement_per_action_and_error_type_matches_krippendorff(graph, api_client_for):
    # given
    dataset = flex_demo_create(name="flexagree", n_clips=80, seed=6, with_pose=False)
    client, _ = api_client_for("curator")
    # when
    body = client.get(f"/api/kg/agreement/?dataset={dataset.pk}").json()
    # then: the press (A01) stage-1 alpha equals krippendorff's over its (sample, slot) units
    press = next(a for a in body["per_action"] if a["code"] == "A01")
    sets = FlexStage1Set.objects.filter(clip__dataset=dataset, clip__exercise__slug="a01").order_by("clip_id", "id")
    from kg.services.graph import compiled_graph

    keys = compiled_graph(graph).action("A01").keys
    marks = np.array([[key in s.slot_keys for key in keys] for s in sets], dtype=float).reshape(-1, 3, len(keys))
    reliability = marks.transpose(1, 0, 2).reshape(3, -1)
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
    assert press["alpha_stage1"] == pytest.approx(expected, abs=1e-4)
    assert body["samples"] == body["final_samples"] == 80
    assert len(body["per_action"]) == 20 and body["per_error_type"][0]["error_type"] == "ET001"
    assert 0.5 < body["overall"]["alpha_stage1"] < body["overall"]["alpha_stage1_vs_final"] < 1.0
    assert body["overall"]["changed_slots"] > 0


def test_agreement_is_for_curators(graph, api_client_for):
    client, _ = api_client_for("reviewer")
    assert client.get("/api/kg/agreement/?dataset=1").status_code == 403
