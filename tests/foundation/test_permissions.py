"""Role x endpoint matrix for the foundation API, plus object scoping (IDOR)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Assignment
from tests.factories import ErrorTypeFactory, RepetitionFactory

ROLES = ["anonymous", "annotator", "reviewer", "curator", "admin"]


@pytest.fixture
def world(db):
    """One clip assigned to the annotator under test (created per role below), one clip nobody holds."""
    rep = RepetitionFactory(index=0)
    et = ErrorTypeFactory(exercise=rep.clip.exercise)
    foreign = RepetitionFactory(index=0)
    return {"rep": rep, "et": et, "clip": rep.clip, "dataset": rep.clip.dataset, "foreign": foreign.clip}


def client_for(role, api_client_for, world):
    from rest_framework.test import APIClient

    if role == "anonymous":
        return APIClient()
    client, user = api_client_for(role)
    for kind in (Assignment.Kind.SEVERITY, Assignment.Kind.ENDPOINTS):
        Assignment.objects.create(annotator=user, clip=world["clip"], kind=kind)
    return client


# (method, url template, body, {role: expected status})
A, R, C, AD = "annotator", "reviewer", "curator", "admin"
MATRIX = [
    ("get", "/api/datasets/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/datasets/{dataset}/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/exercises/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/error-types/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/participants/", None, {A: 403, R: 403, C: 200, AD: 200}),
    ("get", "/api/clips/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/clips/{clip}/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/clips/{foreign}/", None, {A: 404, R: 404, C: 200, AD: 200}),
    ("get", "/api/clips/{clip}/repetitions/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/clips/{clip}/truth/", None, {A: 403, R: 403, C: 404, AD: 404}),
    ("get", "/api/clips/{clip}/end-points/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("post", "/api/clips/{clip}/end-points/submit/", {"client_key": "k" * 16, "frames": [1]},
     {A: 201, R: 403, C: 201, AD: 201}),
    ("get", "/api/votes/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("post", "/api/votes/submit/", "VOTE", {A: 201, R: 403, C: 201, AD: 201}),
    ("post", "/api/clips/upload/", "UPLOAD", {A: 403, R: 403, C: 400, AD: 400}),
    ("get", "/api/job-kinds/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("get", "/api/jobs/", None, {A: 200, R: 200, C: 200, AD: 200}),
    ("post", "/api/jobs/launch/", {"kind": "dataset_stats", "dataset": "{dataset}"}, {A: 403, R: 403, C: 201, AD: 201}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,body,expected", MATRIX, ids=[f"{m[0]} {m[1]}" for m in MATRIX])
def test_role_matrix(role, method, url, body, expected, api_client_for, world, django_capture_on_commit_callbacks):
    # given
    client = client_for(role, api_client_for, world)
    ids = {"clip": world["clip"].pk, "foreign": world["foreign"].pk, "dataset": world["dataset"].pk}
    path = url.format(**ids)
    kwargs = {"format": "json"}
    if body == "VOTE":
        body = {"client_key": "v" * 16, "votes": [{"repetition": world["rep"].pk, "error_type": world["et"].pk,
                                                   "value": 1}]}
    elif body == "UPLOAD":
        body = {"dataset": world["dataset"].pk, "exercise": world["clip"].exercise_id, "external_id": "x",
                "fps": 30, "pose_file": SimpleUploadedFile("p.npy", b"not a numpy file")}
        kwargs = {"format": "multipart"}
    elif isinstance(body, dict) and body.get("dataset") == "{dataset}":
        body = dict(body, dataset=world["dataset"].pk)
    # when (on_commit callbacks captured, not run: no broker needed)
    with django_capture_on_commit_callbacks(execute=False):
        response = getattr(client, method)(path, body, **kwargs) if body is not None else getattr(client, method)(path)
    # then
    want = 401 if role == "anonymous" else expected[role]
    assert response.status_code in ((401, 403) if role == "anonymous" else (want,)), response.content


@pytest.mark.django_db
def test_annotator_lists_only_assigned_clips_and_own_votes(api_client_for, world):
    client = client_for("annotator", api_client_for, world)
    clips = client.get("/api/clips/").json()["results"]
    assert [c["id"] for c in clips] == [world["clip"].pk]


@pytest.mark.django_db
def test_annotator_cannot_download_pose_of_an_unassigned_clip(api_client_for, world):
    client = client_for("annotator", api_client_for, world)
    response = client.get(f"/api/clips/{world['foreign'].pk}/pose/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "clip_not_found"
