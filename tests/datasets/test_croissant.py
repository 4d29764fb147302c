"""The Croissant export passes ``mlcroissant validate`` and ``mlcroissant load`` yields its records."""
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import mlcroissant as mlc
import pandas as pd
import pytest

from datasets.exports.service import split_export
from tests.datasets.factories import frozen_split, toy_dataset
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

CLI = Path(sys.executable).parent / "mlcroissant"

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def exported(db, tmp_path):
    toy = toy_dataset(n_participants=8)
    version = frozen_split(toy)
    split_export(split_version=version, fmt="croissant", out=tmp_path / "cr", params={"license": "CC-BY-4.0"})
    return tmp_path / "cr", version


def test_croissant_validates_without_errors_or_warnings(exported):
    # given
    root, _ = exported
    # when
    run = subprocess.run([str(CLI), "validate", "--jsonld", str(root / "croissant.json")], capture_output=True,
                         text=True, timeout=120)
    # then
    assert run.returncode == 0, run.stderr
    assert "Done." in run.stderr
    assert "WARNING" not in run.stderr.upper().replace("ABSL", "")


def test_croissant_declares_1_1_splits_and_checksums(exported):
    # given
    root, version = exported
    # when
    meta = json.loads((root / "croissant.json").read_text())
    # then
    assert meta["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    splits = next(rs for rs in meta["recordSet"] if rs["@id"] == "splits")
    assert splits["dataType"] == "cr:Split"
    assert [row["splits/url"] for row in splits["data"]] == ["cr:TrainingSplit", "cr:ValidationSplit", "cr:TestSplit"]
    clip_split = next(f for rs in meta["recordSet"] if rs["@id"] == "clips" for f in rs["field"]
                      if f["@id"] == "clips/split")
    assert clip_split["references"] == {"field": {"@id": "splits/name"}}
    assert {d["@id"] for d in meta["distribution"]} == {"clips.csv", "repetitions.csv", "labels.csv"}
    assert version.manifest_hash in meta["description"]


def test_mlcroissant_loads_every_record_set_with_the_exported_counts(exported):
    # given
    root, version = exported
    dataset = mlc.Dataset(jsonld=str(root / "croissant.json"))
    # when
    clips = list(dataset.records(record_set="clips"))
    reps = list(dataset.records(record_set="repetitions"))
    labels = list(dataset.records(record_set="labels"))
    # then
    per_split = Counter(r["clips/split"].decode() for r in clips)
    assert per_split == Counter({k: v for k, v in version.counts["clips"].items() if k != "excluded"})
    assert len(reps) == len(pd.read_csv(root / "repetitions.csv"))
    assert len(labels) == len(pd.read_csv(root / "labels.csv")) == 24 * 3 * 2
    first = next(r for r in labels if r["labels/clip_id"] == b"toy-0000")
    assert first["labels/severity_class"] in (0, 1, 2, 3)

