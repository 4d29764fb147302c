"""Round trips: jsonl export -> import -> export gives the same labels; RepCount-A CSVs -> csv export
gives back every (start, end) pair."""
import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from datasets.exports.service import split_export
from datasets.importers.writer import dataset_import
from datasets.models import SplitVersion
from tests.datasets.factories import frozen_split, toy_dataset
from tests.datasets.test_importers import REPCOUNT_FILES, repcount_pairs
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

LABEL_KEYS = ("clip_id", "split", "exercise", "participant", "skill_level", "fps", "frame_count", "repetitions",
              "segments", "feedback")

pytestmark = pytest.mark.usefixtures("media_root")


def _records(root: Path) -> list[dict]:
    out = []
    for split in ("train", "val", "test"):
        out += [json.loads(x) for x in (root / f"{split}.jsonl").read_text().splitlines()]
    return sorted(({k: r[k] for k in LABEL_KEYS} for r in out), key=lambda r: r["clip_id"])


@pytest.mark.django_db
def test_jsonl_round_trip_keeps_every_label(tmp_path):
    # given
    toy = toy_dataset(n_participants=8, with_pose=True)
    version = frozen_split(toy)
    split_export(split_version=version, fmt="jsonl", out=tmp_path / "first", params={"include_pose": "true"})
    # when
    summary = dataset_import(fmt="jsonl", dataset_name="again", paths=[tmp_path / "first"])
    copy = SplitVersion.objects.get(pk=summary["split_version"])
    split_export(split_version=copy, fmt="jsonl", out=tmp_path / "second", params={"include_pose": "true"})
    # then
    assert _records(tmp_path / "second") == _records(tmp_path / "first")
    assert copy.manifest_hash == version.manifest_hash
    assert (tmp_path / "second" / "pose" / "toy-0000.npy").read_bytes() == \
        (tmp_path / "first" / "pose" / "toy-0000.npy").read_bytes()


@pytest.mark.django_db
def test_repcount_round_trip_gives_back_every_start_end_pair(tmp_path):
    # given
    summary = dataset_import(fmt="repcount_a", dataset_name="rc", paths=REPCOUNT_FILES)
    version = SplitVersion.objects.get(pk=summary["split_version"])
    # when
    split_export(split_version=version, fmt="csv", out=tmp_path / "rc")
    # then
    frames = pd.concat([pd.read_csv(tmp_path / "rc" / f"{s}.csv") for s in ("train", "val", "test")])
    reps = frames.dropna(subset=["rep_index"]).drop_duplicates(["clip_id", "rep_index"]).sort_values(
        ["clip_id", "rep_index"])
    got = {clip: list(zip(g["rep_start_frame"], g["rep_end_frame"])) for clip, g in reps.groupby("clip_id")}
    expected = {clip: pairs for clip, pairs in repcount_pairs().items() if pairs}
    assert got == expected
    assert set(frames["clip_id"]) == set(repcount_pairs())
    with open(tmp_path / "rc" / "README.md", encoding="utf-8") as handle:
        card = handle.read()
    assert "test118" in card and "Exercise (action category) disjoint" in card
    assert list(csv.reader(open(tmp_path / "rc" / "test.csv")))[0][0] == "clip_id"
