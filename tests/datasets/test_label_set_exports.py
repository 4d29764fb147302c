"""Exports and splits read label-set versions when they exist (raw labels otherwise, or on request)."""
import json

import numpy as np
import pytest
from django.utils import timezone

from annotation.models import EndPointLabel, LabelSet, SeverityLabel
from datasets.exports.service import split_export
from datasets.models import Repetition
from datasets.services.splits import split_make
from tests.datasets.factories import frozen_split, toy_dataset
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("media_root")


def _label_sets(toy, *, current=True):
    """A severity set (BMM scores on every item, a Dawid-Skene class on squat only) and an end-point set."""
    now = timezone.now()
    common = dict(dataset=toy.dataset, params={}, input_count=1, input_hash="0" * 64, started_at=now,
                  finished_at=now, is_current=current)
    severity = LabelSet.objects.create(kind="severity", number=1, method="bmm", item_count=0, **common)
    endpoints = LabelSet.objects.create(kind="endpoints", number=1, method="consensus", item_count=0, **common)
    rows = []
    for rep in Repetition.objects.filter(clip__dataset=toy.dataset).select_related("clip__exercise"):
        for k, et in enumerate(toy.error_types[rep.clip.exercise.slug]):
            squat = rep.clip.exercise.slug == "squat"
            rows.append(SeverityLabel(label_set=severity, repetition=rep, error_type=et, n_votes=10, mean=1.5,
                                      majority=1, bmm_score=0.25 * (k + 1), ds_class=3 if squat else None,
                                      ds_confidence=0.9 if squat else None))
    SeverityLabel.objects.bulk_create(rows)
    EndPointLabel.objects.bulk_create(
        EndPointLabel(label_set=endpoints, clip=clip, n_annotators=3, count=3, ends=[10.5, 20.5, 30.5],
                      spread=[0, 0, 0], disagree=clip == toy.clips[0], reason="end_spread" if clip == toy.clips[0]
                      else "")
        for clip in toy.clips)
    return severity, endpoints


def _train(root):
    return {r["clip_id"]: r for r in map(json.loads, (root / "train.jsonl").read_text().splitlines())}


@pytest.mark.django_db
def test_export_takes_the_current_label_sets_by_default(tmp_path):
    # given
    toy = toy_dataset(n_participants=4)
    severity, endpoints = _label_sets(toy)
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="jsonl", out=tmp_path / "ls")
    # then
    squat = _train(tmp_path / "ls")["toy-0000"]
    rep = squat["repetitions"][1]
    assert (rep["start_frame"], rep["end_frame"]) == (10.5, 20.5)
    label = rep["labels"]["squat__right_knee_in"]
    assert (label["severity_score"], label["severity_class"], label["mean"], label["ds_class"]) == (0.5, 3, 1.5, 3)
    assert squat["endpoints_agree"] is False and squat["endpoints_reason"] == "end_spread"
    burpee = _train(tmp_path / "ls")["toy-0001"]["repetitions"][0]["labels"]["burpee__left_knee_in"]
    assert (burpee["severity_class"], burpee["ds_class"]) == (1, None)
    manifest = json.loads((tmp_path / "ls" / "manifest.json").read_text())
    assert manifest["labels"]["severity_label_set"] == severity.pk
    assert manifest["labels"]["endpoints_label_set"] == endpoints.pk
    assert f"label set {severity.pk} (version 1, method bmm)" in (tmp_path / "ls" / "README.md").read_text()


@pytest.mark.django_db
def test_raw_is_forced_on_request_and_used_without_label_sets(tmp_path):
    # given
    toy = toy_dataset(n_participants=4)
    _label_sets(toy, current=False)
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="jsonl", out=tmp_path / "a")
    split_export(split_version=version, fmt="jsonl", out=tmp_path / "b", params={"label_set": "raw"})
    # then
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (tmp_path / "b" / "train.jsonl").read_bytes()
    label = _train(tmp_path / "a")["toy-0000"]["repetitions"][0]["labels"]["squat__left_knee_in"]
    assert sum(label["votes"]) == 3 and "bmm_score" not in label


@pytest.mark.django_db
def test_explicit_label_set_and_its_columns_in_parquet(tmp_path):
    # given
    toy = toy_dataset(n_participants=4)
    severity, _ = _label_sets(toy, current=False)
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="parquet", out=tmp_path / "p", params={"label_set": str(severity.pk)})
    # then
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "p" / "train.parquet").to_pandas()
    assert set(table["bmm_score"].dropna()) == {0.25, 0.5}
    assert "votes_0" not in table.columns
    assert np.allclose(table["severity_score"], table["bmm_score"])


@pytest.mark.django_db
def test_unknown_label_set_is_refused(tmp_path):
    # given
    toy = toy_dataset(n_participants=2)
    version = frozen_split(toy)
    # when / then
    with pytest.raises(Exception, match="label_set_not_found"):
        split_export(split_version=version, fmt="jsonl", out=tmp_path / "x", params={"label_set": "999999"})
    assert not (tmp_path / "x").exists()


@pytest.mark.django_db
def test_make_split_stratifies_on_the_label_set_and_records_it():
    # given
    toy = toy_dataset(n_participants=9)
    severity, endpoints = _label_sets(toy)
    # when
    version = split_make(dataset=toy.dataset, seed=1)
    # then
    assert version.label_set_id == severity.pk
    assert version.label_set_info["endpoints_label_set"] == endpoints.pk
    shares = version.balance["proportions"]["all"]["severity_class"]
    assert set(shares) == {"1", "3"}  # squat clips reach the DS class 3, the others the majority 1
