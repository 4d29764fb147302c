"""The split and export API: curators only; versions, balance JSON and PNG, import, edit, make, exports."""
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.models import SplitVersion
from tasks.services import job_execute
from tests.datasets.factories import frozen_split, toy_dataset
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def curator(api_client_for):
    client, _ = api_client_for("curator")
    return client


@pytest.mark.django_db
def test_annotators_cannot_see_splits_or_exports(api_client_for):
    # given
    client, _ = api_client_for("annotator")
    # when
    responses = [client.get("/api/splits/"), client.get("/api/exports/"), client.post("/api/exports/launch/", {})]
    # then
    assert [r.status_code for r in responses] == [403, 403, 403]


@pytest.mark.django_db
def test_curator_reads_versions_balance_plot_clips_and_manifest(curator):
    # given
    toy = toy_dataset(n_participants=8)
    version = frozen_split(toy)
    # when
    listing = curator.get(f"/api/splits/?dataset={toy.dataset.pk}")
    detail = curator.get(f"/api/splits/{version.pk}/")
    balance = curator.get(f"/api/splits/{version.pk}/balance/")
    plot = curator.get(f"/api/splits/{version.pk}/balance.png")
    clips = curator.get(f"/api/splits/{version.pk}/clips/?split=test")
    manifest = curator.get(f"/api/splits/{version.pk}/manifest.csv")
    # then
    assert listing.json()["results"][0]["manifest_hash"] == version.manifest_hash
    assert detail.json()["participant_based"] is True
    assert "variables" in balance.json() and "class_balance" in balance.json()
    assert plot["Content-Type"] == "image/png" and plot.content.startswith(b"\x89PNG")
    assert {c["split"] for c in clips.json()["results"]} == {"test"}
    lines = manifest.content.decode().splitlines()
    assert lines[0] == "clip_id,split" and len(lines) == 1 + len(toy.clips)


@pytest.mark.django_db
def test_unknown_split_version_is_404(curator):
    # when
    response = curator.get("/api/splits/999999/")
    # then
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "split_version_not_found"


@pytest.mark.django_db
def test_make_split_through_the_api_freezes_a_balanced_version(curator):
    # given
    toy = toy_dataset(n_participants=12)
    # when
    launched = curator.post("/api/splits/make/", {"dataset": toy.dataset.pk, "params": {"seed": 4}}, format="json")
    job_execute(job_id=launched.json()["job"])
    # then
    version = SplitVersion.objects.get(dataset=toy.dataset)
    balance = curator.get(f"/api/splits/{version.pk}/balance/").json()
    assert launched.status_code == 201
    assert balance["max_deviation"] == version.balance["max_deviation"]
    assert set(balance["variables"]["skill_level"]) == {"levels", "all", "train", "val", "test"}
    assert balance["class_balance"]["totals"]["all"]["counts"]


def _upload(rows, name="split.csv"):
    body = "clip_id,split\n" + "".join(f"{a},{b}\n" for a, b in rows)
    return SimpleUploadedFile(name, body.encode(), content_type="text/csv")


@pytest.mark.django_db
def test_import_split_via_api_refuses_leak_with_participants_then_accepts_a_declared_rule(curator):
    # given
    toy = toy_dataset(n_participants=3)
    rows = [(c.external_id, "train" if i % 2 else "test") for i, c in enumerate(toy.clips)]
    # when
    refused = curator.post("/api/splits/import/", {"dataset": toy.dataset.pk, "files": [_upload(rows)]},
                           format="multipart")
    accepted = curator.post("/api/splits/import/", {"dataset": toy.dataset.pk, "files": [_upload(rows)],
                                                    "rule": "none", "rule_detail": "fixed lists from the authors"},
                            format="multipart")
    # then
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "split_leakage"
    assert refused.json()["error"]["fields"]["participants"] == ["P000", "P001", "P002"]
    assert accepted.status_code == 201 and accepted.json()["rule"] == "none"


@pytest.mark.parametrize("name", ["../../split.csv", "..\\..\\split.csv", "/etc/split.csv", "a/../../b.csv"])
def test_uploaded_file_names_that_climb_out_are_refused(name):
    # given: Django already strips paths from multipart names; the import re-checks any name it gets
    from config.exceptions import DomainError
    from datasets.importers.safety import sanitize_upload_name

    # when / then
    with pytest.raises(DomainError, match="unsafe_path"):
        sanitize_upload_name(name)


@pytest.mark.django_db
def test_edit_via_api_creates_a_new_version(curator):
    # given
    toy = toy_dataset(n_participants=4)
    version = frozen_split(toy)
    moved = [c.external_id for c in toy.clips if c.participant == toy.participants[0]]
    # when
    response = curator.post(f"/api/splits/{version.pk}/edit/",
                            {"moves": [{"clip_id": x, "split": "test"} for x in moved], "note": "move P000"},
                            format="json")
    # then
    assert response.status_code == 201
    assert response.json()["parent"] == version.pk and response.json()["source"] == "edited"


@pytest.mark.django_db
def test_export_through_the_api_and_download_the_zip(curator):
    # given
    toy = toy_dataset(n_participants=4)
    version = frozen_split(toy)
    # when
    launched = curator.post("/api/exports/launch/", {"split_version": version.pk, "format": "csv",
                                                     "options": {"balance": "two_step"}}, format="json")
    job_execute(job_id=launched.json()["job"])
    detail = curator.get(f"/api/exports/{launched.json()['id']}/")
    download = curator.get(detail.json()["download_url"])
    again = curator.get(detail.json()["download_url"])
    # then
    assert launched.status_code == 201
    assert detail.json()["state"] == "succeeded" and detail.json()["progress"] == 1.0
    body = b"".join(download.streaming_content)
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert {"README.md", "manifest.json", "train.csv"} <= set(names)
    assert b"".join(again.streaming_content) == body


@pytest.mark.django_db
def test_export_launch_refuses_a_leaking_split_and_bad_options(curator):
    # given
    toy = toy_dataset(n_participants=2)
    assignment = {c.pk: i % 2 for i, c in enumerate(toy.clips)}
    leaking = frozen_split(toy, assignment=assignment)
    # when
    leak = curator.post("/api/exports/launch/", {"split_version": leaking.pk, "format": "jsonl"}, format="json")
    bad = curator.post("/api/exports/launch/", {"split_version": leaking.pk, "format": "xlsx"}, format="json")
    # then
    assert leak.status_code == 400 and leak.json()["error"]["code"] == "split_leakage"
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_format"


@pytest.mark.django_db
def test_unfinished_export_cannot_be_downloaded(curator):
    # given
    toy = toy_dataset(n_participants=4)
    version = frozen_split(toy)
    launched = curator.post("/api/exports/launch/", {"split_version": version.pk, "format": "jsonl"}, format="json")
    # when
    response = curator.get(f"/api/exports/{launched.json()['id']}/download/")
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "export_not_ready"
