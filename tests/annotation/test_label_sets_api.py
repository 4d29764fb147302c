"""Label sets are immutable and one per (dataset, kind) is current; the curator API and plots."""
import numpy as np
import pytest
from django.db import IntegrityError, transaction

from annotation.models import LabelSet, SeverityLabel, SeverityVote
from annotation.services.aggregation import SeverityParams, label_set_set_current, severity_aggregate
from config.exceptions import DomainError
from tests.annotation.factories import noisy_votes, voted_dataset


@pytest.fixture
def two_versions(db):
    data = voted_dataset(noisy_votes(n_reps=30, n_error_types=2, n_annotators=5, seed=11))
    first, report, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams(), set_current=True)
    second, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams(method="majority"))
    return data, first, second, report


def test_a_label_set_and_its_rows_refuse_every_change_but_the_current_flag(two_versions):
    # given
    _, first, _, _ = two_versions
    row = SeverityLabel.objects.filter(label_set=first).first()
    # when / then
    first.method = "mean"
    with pytest.raises(DomainError, match="immutable"):
        first.save()
    with pytest.raises(DomainError, match="immutable"):
        first.save(update_fields=["method"])
    with pytest.raises(DomainError, match="immutable"):
        LabelSet.objects.filter(pk=first.pk).update(input_hash="0" * 64)
    row.mean = 3.0
    with pytest.raises(DomainError, match="immutable"):
        row.save()
    with pytest.raises(DomainError, match="immutable"):
        SeverityLabel.objects.filter(label_set=first).update(majority=0)
    assert LabelSet.objects.get(pk=first.pk).method == "all"


def test_aggregation_never_changes_raw_votes(two_versions):
    data, *_ = two_versions
    before = list(SeverityVote.objects.order_by("id").values_list("id", "value", "created_at"))
    severity_aggregate(dataset=data.dataset, params=SeverityParams())
    assert list(SeverityVote.objects.order_by("id").values_list("id", "value", "created_at")) == before


def test_set_current_moves_the_flag_and_is_idempotent(two_versions):
    # given
    _, first, second, _ = two_versions
    # when
    label_set_set_current(label_set=second)
    label_set_set_current(label_set=second)
    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_current, second.is_current) == (False, True)
    assert LabelSet.objects.filter(dataset=first.dataset, kind="severity", is_current=True).count() == 1


def test_the_database_allows_one_current_set_per_dataset_and_kind(two_versions):
    _, first, second, _ = two_versions
    with pytest.raises(IntegrityError), transaction.atomic():
        LabelSet.objects.filter(pk=second.pk).update(is_current=True)


def test_curator_lists_reads_and_pages_label_sets(two_versions, api_client_for):
    # given
    data, first, second, _ = two_versions
    client, _ = api_client_for("curator")
    # when
    listing = client.get(f"/api/label-sets/?dataset={data.dataset.pk}&kind=severity").json()
    detail = client.get(f"/api/label-sets/{first.pk}/").json()
    page = client.get(f"/api/label-sets/{first.pk}/items/?page_size=25&page=2").json()
    filtered = client.get(f"/api/label-sets/{first.pk}/items/?error_type={data.error_types[1].pk}").json()
    current = client.get(f"/api/label-sets/?dataset={data.dataset.pk}&current=true").json()
    # then
    assert [r["id"] for r in listing["results"]] == [second.pk, first.pk]
    assert detail["input_hash"] == first.input_hash and detail["agreement_report"] is not None
    assert set(detail["summary"]["error_types"]) == {str(e.pk) for e in data.error_types}
    assert page["count"] == 60 and len(page["results"]) == 25
    assert {"clip_external_id", "rep_index", "error_type_code", "bmm_score", "ds_class"} <= set(page["results"][0])
    assert filtered["count"] == 30
    assert {r["error_type"] for r in filtered["results"]} == {data.error_types[1].pk}
    assert [r["id"] for r in current["results"]] == [first.pk]


def test_curator_sets_the_current_version_through_the_api(two_versions, api_client_for):
    _, first, second, _ = two_versions
    client, _ = api_client_for("curator")
    response = client.post(f"/api/label-sets/{second.pk}/set-current/")
    assert response.status_code == 200 and response.json()["is_current"] is True
    assert LabelSet.objects.get(pk=first.pk).is_current is False


def test_label_sets_are_curator_only(two_versions, api_client_for):
    _, first, _, report = two_versions
    annotator, _ = api_client_for("annotator")
    assert annotator.get("/api/label-sets/").status_code == 403
    assert annotator.get(f"/api/label-sets/{first.pk}/items/").status_code == 403
    assert annotator.post(f"/api/label-sets/{first.pk}/set-current/").status_code == 403
    assert annotator.get(f"/api/agreement/{report.pk}/annotators/").status_code == 403


def test_unknown_label_set_is_a_404_with_a_stable_code(api_client_for, db):
    client, _ = api_client_for("curator")
    response = client.get("/api/label-sets/999999/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "label_set_not_found"


def test_agreement_per_error_type_with_target_and_per_annotator_with_reliability(two_versions, api_client_for):
    # given
    data, first, second, report = two_versions
    client, _ = api_client_for("curator")
    # when
    latest = client.get(f"/api/agreement/latest/?dataset={data.dataset.pk}").json()
    error_types = client.get(f"/api/agreement/{report.pk}/error-types/").json()["results"]
    annotators = client.get(f"/api/agreement/{report.pk}/annotators/").json()["results"]
    # then
    assert latest["label_set"] == second.pk and report.label_set_id == first.pk  # every run reports agreement
    assert len(error_types) == 2
    assert all(r["target_kappa1"] == pytest.approx(0.85 * r["kappa1"]) for r in error_types)
    assert {r["username"] for r in annotators} == {u.username for u in data.annotators}
    assert all(0 <= r["ds_accuracy"] <= 1 and np.array(r["confusion"]).shape == (4, 4) for r in annotators)


def test_histogram_as_json_series_and_as_png(two_versions, api_client_for):
    # given
    data, first, _, _ = two_versions
    client, _ = api_client_for("curator")
    error_type = data.error_types[0].pk
    # when
    series = client.get(f"/api/label-sets/{first.pk}/histogram/?error_type={error_type}&bins=15").json()
    png = client.get(f"/api/label-sets/{first.pk}/histogram.png?error_type={error_type}")
    missing = client.get(f"/api/label-sets/{first.pk}/histogram/")
    # then
    assert sum(series["counts"]) == 30 and len(series["bin_edges"]) == 16
    assert series["bmm"]["alphas"] is None or len(series["curve"]["mixture"]) == 200
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_input"
