"""Uploading pose arrays: good files are stored, every kind of bad file is refused with nothing written."""
import io
import pickle

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from datasets.models import Clip
from tests.factories import ExerciseFactory, pose_array


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def upload(client, exercise, data: bytes, external_id="clip-a"):
    return client.post(
        "/api/clips/upload/",
        {"dataset": exercise.dataset_id, "exercise": exercise.pk, "external_id": external_id, "fps": 30,
         "pose_file": SimpleUploadedFile("pose.npy", data)},
        format="multipart",
    )


@pytest.fixture
def curator_client(api_client_for):
    return api_client_for("curator")[0]


@pytest.mark.django_db
def test_valid_pose_is_stored_as_float32_with_its_frame_count(curator_client):
    # given
    exercise = ExerciseFactory()
    array = pose_array(frames=90).astype(np.float64)
    array[5, 3] = np.nan  # a dropped joint is allowed
    # when
    response = upload(curator_client, exercise, npy(array))
    # then
    assert response.status_code == 201, response.content
    clip = Clip.objects.get(pk=response.json()["id"])
    assert clip.frame_count == 90
    stored = np.load(clip.pose_file.open("rb"), allow_pickle=False)
    assert stored.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(stored), np.isnan(array))


def _pickled_object_array() -> bytes:
    return npy(np.array([{"a": 1}, None], dtype=object))


def _raw_pickle() -> bytes:
    return pickle.dumps({"evil": True})


BAD_FILES = [
    ("pickle_npy", _pickled_object_array, "pose_pickle"),
    ("raw_pickle", _raw_pickle, "pose_not_npy"),
    ("wrong_joint_count", lambda: npy(pose_array(joints=17)), "pose_joint_count"),
    ("inf_values", lambda: npy(np.where(np.arange(26 * 2 * 10).reshape(10, 26, 2) == 7, np.inf, 0.0)), "pose_not_finite"),
    ("neg_inf_values", lambda: npy(np.full((10, 26, 2), -np.inf)), "pose_not_finite"),
    ("zero_frames", lambda: npy(np.zeros((0, 26, 2), dtype=np.float32)), "pose_empty"),
    ("wrong_ndim", lambda: npy(np.zeros((10, 52), dtype=np.float32)), "pose_shape"),
    ("wrong_last_axis", lambda: npy(np.zeros((10, 26, 4), dtype=np.float32)), "pose_shape"),
    ("string_dtype", lambda: npy(np.array([["a"]])), "pose_dtype"),
    ("truncated", lambda: npy(pose_array())[:100], "pose_unreadable"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name,make,code", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_pose_file_is_refused_and_nothing_is_stored(curator_client, settings, tmp_path, name, make, code):
    # given
    settings.MEDIA_ROOT = tmp_path
    exercise = ExerciseFactory()
    # when
    response = upload(curator_client, exercise, make())
    # then
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert Clip.objects.count() == 0
    assert not any(tmp_path.rglob("*.npy"))


@pytest.mark.django_db
def test_oversize_file_is_refused(curator_client, tmp_path):
    # given
    exercise = ExerciseFactory()
    with override_settings(FORMLAB_POSE_MAX_BYTES=10_000, MEDIA_ROOT=tmp_path):
        # when
        response = upload(curator_client, exercise, npy(pose_array(frames=200)))
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "pose_too_large"
    assert Clip.objects.count() == 0


@pytest.mark.django_db
def test_too_many_frames_is_refused(curator_client, tmp_path):
    exercise = ExerciseFactory()
    with override_settings(FORMLAB_POSE_MAX_FRAMES=50, MEDIA_ROOT=tmp_path):
        response = upload(curator_client, exercise, npy(pose_array(frames=51)))
    assert response.json()["error"]["code"] == "pose_too_many_frames"
    assert Clip.objects.count() == 0


@pytest.mark.django_db
def test_path_traversal_in_external_id_is_refused(curator_client):
    exercise = ExerciseFactory()
    response = upload(curator_client, exercise, npy(pose_array()), external_id="../../etc/passwd")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert Clip.objects.count() == 0


@pytest.mark.django_db
def test_annotator_cannot_upload(api_client_for):
    client, _ = api_client_for("annotator")
    response = upload(client, ExerciseFactory(), npy(pose_array()))
    assert response.status_code == 403
    assert Clip.objects.count() == 0
