"""Hostile and malformed input, table-driven: every kind gets a clear 4xx (or a CLI error) with a
stable code, and NOTHING is written (labels, idempotency records, clips, jobs, splits, exports,
feedback texts, audit entries: all counts unchanged).

Each row: (kind, request builder, expected status, expected error code). A builder receives the
world and returns a ``Req`` (an HTTP call as some role) or a ``Cmd`` (a management command).
"""
import io
import pickle
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Assignment
from tests.factories import ErrorTypeFactory, RepetitionFactory, UserFactory, pose_array

WATCHED = ["annotation.SeverityVote", "annotation.EndPointMark", "annotation.ErrorSegment", "annotation.FeedbackNote",
           "annotation.IdempotencyRecord", "datasets.Clip", "datasets.Dataset", "datasets.SplitVersion",
           "datasets.SplitExport", "tasks.Job", "kg.FlexStage1Set", "kg.FlexReview", "kg.FeedbackText",
           "audit.AuditEntry"]


@dataclass
class Req:
    method: str
    path: str
    body: object = None
    fmt: str = "json"
    role: str = "annotator"
    raw: bytes | None = None
    content_type: str = "application/json"
    settings: dict = field(default_factory=dict)


@dataclass
class Cmd:
    argv: list


def _counts() -> dict:
    return {label: apps.get_model(label).objects.count() for label in WATCHED}


@pytest.fixture
def world(db, tmp_path):
    rep = RepetitionFactory(index=0)
    clip = rep.clip
    et = ErrorTypeFactory(exercise=clip.exercise)
    other_et = ErrorTypeFactory()  # of another exercise
    foreign = RepetitionFactory(index=0)
    annotator = UserFactory(roles=["annotator"])
    curator = UserFactory(roles=["curator"])
    reviewer = UserFactory(roles=["reviewer"])
    for kind in Assignment.Kind.SEVERITY, Assignment.Kind.ENDPOINTS, Assignment.Kind.SEGMENTS, \
            Assignment.Kind.FEEDBACK:
        Assignment.objects.create(annotator=annotator, clip=clip, kind=kind, state=Assignment.State.LEASED,
                                  lease_expires_at=timezone.now() + timedelta(minutes=30))
    clients = {}
    for role, user in (("annotator", annotator), ("curator", curator), ("reviewer", reviewer)):
        client = APIClient()
        client.force_authenticate(user=user)
        clients[role] = client
    return {"rep": rep, "clip": clip, "et": et, "other_et": other_et, "foreign": foreign, "annotator": annotator,
            "curator": curator, "clients": clients, "dataset": clip.dataset, "tmp": tmp_path}


def _npy(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _upload(w, data: bytes, **extra) -> Req:
    body = {"dataset": w["dataset"].pk, "exercise": w["clip"].exercise_id, "external_id": "upload-1", "fps": 30,
            "pose_file": SimpleUploadedFile("pose.npy", data)}
    body.update(extra)
    return Req("post", "/api/clips/upload/", body, fmt="multipart", role="curator")


def _vote(w, value=1, key="hostile-key-1", rep=None, et=None):
    return {"client_key": key, "votes": [{"repetition": (rep or w["rep"]).pk, "error_type": (et or w["et"]).pk,
                                          "value": value}]}


def _expire_lease(w):
    Assignment.objects.filter(annotator=w["annotator"], clip=w["clip"]).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1))


def _first_vote(w):
    response = w["clients"]["annotator"].post("/api/votes/submit/", _vote(w, value=1, key="same-key-123"),
                                              format="json")
    assert response.status_code == 201, response.content


def _zip_slip(w) -> Cmd:
    archive = w["tmp"] / "labels.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../outside.csv", ",Unnamed: 0,type,name,count,L1,L2\n")
    return Cmd(["import_dataset", "--format", "repcount_a", "--dataset", "evil", str(archive)])


def _pickle_file(w) -> Cmd:
    path = w["tmp"] / "labels.pkl"
    path.write_bytes(pickle.dumps({"__reduce__": "os.system"}))
    return Cmd(["import_dataset", "--format", "repcount_a", "--dataset", "evil", str(path)])


def _latin1_csv(w) -> Cmd:
    path = w["tmp"] / "new_train.csv"
    path.write_bytes(",Unnamed: 0,type,name,count,L1,L2\n0,0,sq\xe9at,a.mp4,1,0,10\n".encode("latin-1"))
    return Cmd(["import_dataset", "--format", "repcount_a", "--dataset", "evil", str(path)])


def _traversal_in_import_row(w) -> Cmd:
    path = w["tmp"] / "new_train.csv"
    path.write_text(",Unnamed: 0,type,name,count,L1,L2\n0,0,squat,../../etc/passwd,1,0,10\n")
    return Cmd(["import_dataset", "--format", "repcount_a", "--dataset", "evil", str(path)])


CASES = [
    # ---- JSON and types
    ("malformed_json", lambda w: Req("post", "/api/votes/submit/", raw=b'{"client_key": "abcdefgh", "votes": [',),
     400, "malformed_request"),
    ("invalid_utf8", lambda w: Req("post", "/api/votes/submit/", raw=b'{"client_key": "\xff\xfe\xfa"}'),
     400, "malformed_request"),
    ("body_is_a_list", lambda w: Req("post", "/api/votes/submit/", [1, 2, 3]), 400, "invalid_input"),
    ("wrong_type_value", lambda w: Req("post", "/api/votes/submit/", dict(_vote(w), votes=[
        {"repetition": w["rep"].pk, "error_type": w["et"].pk, "value": "high"}])), 400, "invalid_input"),
    ("bool_as_id", lambda w: Req("post", "/api/votes/submit/", dict(_vote(w), votes=[
        {"repetition": True, "error_type": w["et"].pk, "value": 1}])), 400, "invalid_input"),
    ("huge_number", lambda w: Req("post", "/api/votes/submit/", dict(_vote(w), votes=[
        {"repetition": 10**30, "error_type": w["et"].pk, "value": 1}])), 400, "invalid_input"),
    ("vote_value_out_of_range", lambda w: Req("post", "/api/votes/submit/", _vote(w, value=4)), 400, "invalid_input"),
    ("nan_in_json", lambda w: Req("post", "/api/votes/submit/", raw=(
        b'{"client_key": "abcdefgh1", "votes": [{"repetition": NaN, "error_type": 1, "value": 1}]}')),
     400, None),
    ("empty_vote_list", lambda w: Req("post", "/api/votes/submit/", {"client_key": "abcdefgh1", "votes": []}),
     400, "invalid_input"),
    ("too_many_votes", lambda w: Req("post", "/api/votes/submit/", {"client_key": "abcdefgh1", "votes": [
        {"repetition": w["rep"].pk, "error_type": w["et"].pk, "value": 1}] * 1001}), 400, "invalid_input"),
    ("duplicate_vote_in_request", lambda w: Req("post", "/api/votes/submit/", {"client_key": "abcdefgh1", "votes": [
        {"repetition": w["rep"].pk, "error_type": w["et"].pk, "value": 1}] * 2}), 400, "duplicate_in_request"),
    ("script_in_client_key", lambda w: Req("post", "/api/votes/submit/", _vote(w, key="<script>x</script>")),
     400, "invalid_input"),
    ("wrong_content_type", lambda w: Req("post", "/api/votes/submit/", raw=b"client_key=abc",
                                         content_type="text/plain"), 415, "unsupported_media_type"),
    ("oversize_json_body", lambda w: Req("post", "/api/votes/submit/", raw=b'{"pad": "' + b"x" * 20_000 + b'"}',
                                         settings={"DATA_UPLOAD_MAX_MEMORY_SIZE": 10_000}), 413, "request_too_large"),
    # ---- frames
    ("negative_frame", lambda w: Req("post", f"/api/clips/{w['clip'].pk}/end-points/submit/",
                                     {"client_key": "abcdefgh1", "frames": [-1]}), 400, "invalid_input"),
    ("frame_past_clip", lambda w: Req("post", f"/api/clips/{w['clip'].pk}/end-points/submit/",
                                      {"client_key": "abcdefgh1", "frames": [w["clip"].frame_count + 5]}),
     400, "frame_out_of_range"),
    ("segment_past_clip", lambda w: Req("post", f"/api/clips/{w['clip'].pk}/segments/submit/", {
        "client_key": "abcdefgh1", "segments": [{"error_type": w["et"].pk, "start_frame": 5,
                                                 "end_frame": w["clip"].frame_count + 50}]}), 400, None),
    ("segment_reversed", lambda w: Req("post", f"/api/clips/{w['clip'].pk}/segments/submit/", {
        "client_key": "abcdefgh1", "segments": [{"error_type": w["et"].pk, "start_frame": 50, "end_frame": 5}]}),
     400, None),
    # ---- pose uploads
    ("pose_inf", lambda w: _upload(w, _npy(np.full((10, 26, 2), np.inf, dtype=np.float32))), 400, "pose_not_finite"),
    ("pose_wrong_shape", lambda w: _upload(w, _npy(np.zeros((10, 26), dtype=np.float32))), 400, "pose_shape"),
    ("pose_wrong_joints", lambda w: _upload(w, _npy(pose_array(joints=17))), 400, "pose_joint_count"),
    ("pose_wrong_dtype", lambda w: _upload(w, _npy(np.array([[["a", "b"]] * 26] * 3)) ), 400, "pose_dtype"),
    ("pose_pickle_payload", lambda w: _upload(w, _npy(np.array([{"x": 1}], dtype=object), allow_pickle=True)),
     400, "pose_pickle"),
    ("pose_raw_pickle", lambda w: _upload(w, pickle.dumps({"a": 1})), 400, "pose_not_npy"),
    ("pose_truncated", lambda w: _upload(w, _npy(pose_array())[:200]), 400, "pose_unreadable"),
    ("pose_oversize", lambda w: Req(**{**_upload(w, _npy(pose_array(frames=400))).__dict__,
                                       "settings": {"FORMLAB_POSE_MAX_BYTES": 4096}}), 400, "pose_too_large"),
    ("upload_over_request_limit", lambda w: Req(**{**_upload(w, _npy(pose_array(frames=400))).__dict__,
                                                   "settings": {"FORMLAB_MAX_UPLOAD_BYTES": 4096}}),
     413, "request_too_large"),
    ("path_traversal_external_id", lambda w: _upload(w, _npy(pose_array()), external_id="../../etc/passwd"),
     400, "invalid_input"),
    # ---- path parameters and query strings
    ("traversal_in_path_param", lambda w: Req("get", "/api/kg/feedback/..%2F..%2Fetc%2Fpasswd/"), 404, None),
    ("traversal_in_plot_name", lambda w: Req("get", "/api/runs/1/plots/..%2F..%2Fsettings.png", role="curator"),
     404, None),
    ("sql_in_query_param", lambda w: Req("get", "/api/clips/?dataset=1;DROP TABLE datasets_clip"), 400,
     "invalid_input"),
    ("sql_in_audit_filter", lambda w: Req("get", "/api/audit/?actor=1' OR '1'='1", role="curator"), 400,
     "invalid_input"),
    ("bad_date_in_audit_filter", lambda w: Req("get", "/api/audit/?since=yesterday", role="curator"), 400,
     "invalid_input"),
    # ---- labelling rules
    ("vote_for_unassigned_item", lambda w: Req("post", "/api/votes/submit/", _vote(w, rep=w["foreign"])),
     403, "not_assigned"),
    ("error_type_of_another_exercise", lambda w: Req("post", "/api/votes/submit/", _vote(w, et=w["other_et"])),
     400, "error_type_mismatch"),
    ("expired_lease", lambda w: (_expire_lease(w), Req("post", "/api/votes/submit/", _vote(w)))[1],
     409, "lease_expired"),
    ("idempotency_key_other_body", lambda w: (_first_vote(w), Req("post", "/api/votes/submit/",
                                                                   _vote(w, value=3, key="same-key-123")))[1],
     409, "idempotency_key_reused"),
    ("queue_kind_not_in_dataset", lambda w: Req("post", "/api/queue/next/", {"dataset": w["dataset"].pk,
                                                                             "kind": "flex_stage1"}),
     400, "kind_not_in_dataset"),
    ("reviewer_takes_annotator_work", lambda w: Req("post", "/api/queue/next/", {"dataset": w["dataset"].pk,
                                                                                 "kind": "endpoints"},
                                                    role="reviewer"), 403, "forbidden_kind"),
    # ---- jobs
    ("unknown_job_kind", lambda w: Req("post", "/api/jobs/launch/", {"kind": "rm_rf", "dataset": w["dataset"].pk},
                                       role="curator"), 400, "unknown_job_kind"),
    ("unknown_job_param", lambda w: Req("post", "/api/jobs/launch/", {
        "kind": "make_split", "dataset": w["dataset"].pk, "params": {"shell": "rm -rf /"}}, role="curator"),
     400, "unknown_param"),
    ("invalid_job_param", lambda w: Req("post", "/api/jobs/launch/", {
        "kind": "make_split", "dataset": w["dataset"].pk, "params": {"seed": -5}}, role="curator"),
     400, "invalid_param"),
    ("job_params_not_an_object", lambda w: Req("post", "/api/jobs/launch/", {
        "kind": "make_split", "dataset": w["dataset"].pk, "params": "seed=1"}, role="curator"), 400, "invalid_input"),
    # ---- importers and commands
    ("zip_slip", _zip_slip, None, "unsafe_path"),
    ("pickle_file_import", _pickle_file, None, "pickle_refused"),
    ("non_utf8_import", _latin1_csv, None, "not_utf8"),
    ("traversal_in_import_row", _traversal_in_import_row, None, "unsafe_path"),
    ("cli_unknown_job_kind", lambda w: Cmd(["run_job", "rm_rf", "--dataset", w["dataset"].name]), None,
     "unknown_job_kind"),
    ("cli_malformed_param", lambda w: Cmd(["run_job", "make_split", "--dataset", w["dataset"].name, "--param",
                                           "seed"]), None, "malformed_param"),
    ("cli_export_into_source_tree", lambda w: Cmd(["export_split", "--split-version", "1", "--format", "jsonl",
                                                   "--out", "config/evil"]), None, None),
    ("cli_negative_clip_count", lambda w: Cmd(["make_demo_data", "--dataset", "x", "--clips", "-5", "--seed", "1"]),
     None, "invalid_clips"),
    ("cli_slot_of_another_action", lambda w: Cmd(["kg_score", "--action", "Standing Barbell Overhead Press",
                                                  "--slot", "ZZ99:ET999"]), None, None),
]


@pytest.mark.django_db
@pytest.mark.parametrize("build,status,code", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_stable_code_and_nothing_is_written(build, status, code, world, settings):
    # given
    call = build(world)
    before = _counts()
    # when / then
    if isinstance(call, Cmd):
        with pytest.raises(CommandError) as caught:
            call_command(*call.argv)
        message = str(caught.value)
        assert code is None or message.startswith(f"{code}:") or f"{code}:" in message, message
    else:
        for name, value in call.settings.items():
            setattr(settings, name, value)
        client = world["clients"][call.role]
        if call.raw is not None:
            response = getattr(client, call.method)(call.path, data=call.raw, content_type=call.content_type)
        elif call.body is None:
            response = getattr(client, call.method)(call.path)
        else:
            response = getattr(client, call.method)(call.path, call.body, format=call.fmt)
        assert response.status_code == status, response.content[:500]
        body = response.json() if response["Content-Type"].startswith("application/json") else {}
        assert code is None or body["error"]["code"] == code, body
    assert _counts() == before


def test_there_are_at_least_thirty_kinds_of_bad_input():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)
