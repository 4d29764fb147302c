"""Pose files missing or corrupt on disk: the clip is named, the job fails by its documented rule
(before any output is visible), and nothing crashes."""
import io

import pytest
from django.core.files.storage import default_storage

from datasets.models import SplitExport
from tasks.models import Job
from tasks.services import job_execute, job_launch
from tests.datasets.factories import frozen_split, toy_dataset
from tests.factories import UserFactory


@pytest.fixture
def damaged(db, private_media):
    """Clip 0's pose file deleted from storage, clip 1's replaced by a corrupt one."""
    toy = toy_dataset(name="damaged", n_participants=6, with_pose=True, seed=11)  # files under private_media
    missing, corrupt = toy.clips[0], toy.clips[1]
    default_storage.delete(missing.pose_file.name)
    # the corrupt clip gets its own file so the content-addressed copy of the others stays intact
    corrupt.pose_file.name = default_storage.save("pose/test/corrupt.npy",
                                                  io.BytesIO(b"\x93NUMPY\x01\x00garbage-header"))
    corrupt.save(update_fields=["pose_file"])
    return toy, missing, corrupt


@pytest.mark.django_db
@pytest.mark.parametrize("bad_name,other_name", [("missing", "corrupt"), ("corrupt", "missing")])
def test_export_with_a_bad_pose_file_fails_naming_the_file_and_writes_nothing(damaged, bad_name, other_name):
    # given: only one kind of damage in the split
    toy, missing, corrupt = damaged
    named = {"missing": missing, "corrupt": corrupt}
    bad = named[bad_name]
    toy.clips.remove(named[other_name])
    version = frozen_split(toy, assignment={c.pk: 0 for c in toy.clips})
    job = job_launch(kind="export_split", dataset=toy.dataset, user=UserFactory(roles=["curator"]),
                     params={"split_version": version.pk, "format": "npz", "include_pose": True})
    # when
    job_execute(job_id=job.pk)
    # then
    job.refresh_from_db()
    export = SplitExport.objects.get(job_id=job.pk)
    assert job.state == Job.State.FAILED
    assert job.error.startswith("pose_file_missing:")
    assert bad.pose_file.name in job.error
    assert export.state == SplitExport.State.FAILED and export.files == []


@pytest.mark.django_db
def test_pose_download_of_a_missing_file_is_a_404_with_a_code(damaged, api_client_for):
    _, missing, _ = damaged
    client, _ = api_client_for("curator")
    response = client.get(f"/api/clips/{missing.pk}/pose/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "pose_file_missing"
