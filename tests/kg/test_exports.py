"""Exports for FLEX users: the FLEX layout round trip, .mat split lists, FLEX-VideoQA dialogues."""
import csv
import json
from io import StringIO

import numpy as np
import pandas as pd
import pytest
import scipy.io
from django.core.management import call_command
from django.core.management.base import CommandError

from datasets.models import Clip
from kg.core.flex_layout import read_flex_layout
from kg.exports import export_flex_layout, export_videoqa
from kg.models import FlexSampleLabel
from kg.services.feedback import feedback_text_create
from kg.services.label_sets import flex_label_set_compute
from kg.services.synthetic import flex_demo_create


@pytest.fixture
def scored(graph, settings, tmp_path):
    """A 50-sample synthetic FLEX dataset with pose, scored (current label set)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    dataset = flex_demo_create(name="flexexp", n_clips=50, seed=8, with_pose=True)
    label_set = flex_label_set_compute(dataset=dataset)
    return dataset, label_set


def test_flex_layout_round_trip(scored, tmp_path):
    # given
    dataset, label_set = scored
    split = {c: ("test" if i % 5 == 0 else "train")
             for i, c in enumerate(Clip.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True))}
    # when
    manifest = export_flex_layout(dataset=dataset, out_dir=tmp_path / "out", split_assignment=split)
    back = read_flex_layout(tmp_path / "out")
    # then: every final sample's pose and score come back
    rows = {r["clip_id"]: r for r in back["scores"]}
    finals = FlexSampleLabel.objects.filter(label_set=label_set, status="final").select_related("clip")
    assert manifest["samples"] == len(rows) == finals.count() == 50
    for label in finals:
        row = rows[str(label.clip_id)]
        pose = np.load(label.clip.pose_file.path)
        exported = back["skeletons"][(int(row["action_index"]), int(row["sample_index"]))]
        assert np.allclose(exported, pose, atol=5e-7)
        assert float(row["score"]) == round(label.score, 2)
        assert row["final_slots"].split(";") == (label.final or [""])
        assert row["split"] == split[label.clip_id]
    assert manifest["splits"] == {"train": 40, "val": 0, "test": 10}


def test_split_lists_are_mat_files_scipy_reads_with_action_sample_score_rows(scored, tmp_path):
    # given
    dataset, _ = scored
    export_flex_layout(dataset=dataset, out_dir=tmp_path / "out")
    # when: read exactly as FLEX's SevenPair.py does
    train = scipy.io.loadmat(tmp_path / "out" / "Split_4" / "split_4_train_list.mat")["consolidated_train_list"]
    test = scipy.io.loadmat(tmp_path / "out" / "Split_4" / "split_4_test_list.mat")["consolidated_test_list"]
    # then
    with (tmp_path / "out" / "scores.csv").open() as handle:
        expected = {(int(r["action_index"]), int(r["sample_index"])): (r["split"], float(r["score"]))
                    for r in csv.DictReader(handle)}
    assert train.shape[1] == 3 and test.shape[1] == 3 and len(train) + len(test) == 50
    for name, rows in (("train", train), ("test", test)):
        for action, sample, score in rows.tolist():
            assert expected[(int(action), int(sample))] == (name, score)
    # the default split keeps participants apart: the last of three is test
    participants = {(r["split"], r["participant"]) for r in csv.DictReader((tmp_path / "out" / "scores.csv").open())}
    assert {p for s, p in participants if s == "test"} == {"S003"}
    assert not {p for s, p in participants if s == "test"} & {p for s, p in participants if s == "train"}
    assert set(train[:, 0].astype(int)) | set(test[:, 0].astype(int)) == set(range(1, 21))


def test_skeleton_csv_reads_like_the_flex_loader(scored, tmp_path):
    dataset, _ = scored
    export_flex_layout(dataset=dataset, out_dir=tmp_path / "out")
    raw = pd.read_csv(tmp_path / "out" / "Skeleton" / "A01" / "001" / "skeleton_points.csv", header=0).values
    assert raw.reshape(-1, 21, 3).shape[1:] == (21, 3)


def test_videoqa_dialogues_follow_the_four_step_pipeline(scored, tmp_path):
    # given: a curated feedback text for one error type
    dataset, label_set = scored
    first = FlexSampleLabel.objects.filter(label_set=label_set, status="final").exclude(final=[]).order_by(
        "action_index", "clip_id").first()
    code = first.final[0].split(":")[1]
    feedback_text_create(error_code=code, text="Fix it like this.", based_on=None)
    # when
    manifest = export_videoqa(dataset=dataset, out_dir=tmp_path / "qa")
    records = json.loads((tmp_path / "qa" / "flex_videoqa.json").read_text())
    # then
    record = next(r for r in records if r["clip_id"] == first.clip_id)
    turns = record["conversations"]
    assert [t["from"] for t in turns] == ["human", "gpt"] * 4
    assert turns[0]["value"].startswith("<image>\n")
    assert record["action"] in turns[1]["value"]
    assert turns[3]["value"].startswith(f"The {record['action']} is performed in 3 phases. Preparation:")
    assert "Correction: Fix it like this." in turns[5]["value"]
    assert turns[7]["value"].startswith(f"The execution scores {round(first.score, 2):.2f} out of 100")
    assert manifest["samples"] == 50 and manifest["template"] == "flex-videoqa-template-1"
    assert record["skeleton"] == f"Skeleton/A{record['id'][1:3]}/{record['id'][4:]}/skeleton_points.csv"


def test_videoqa_no_error_answer(graph, tmp_path):
    # given: one sample, every stage-1 set and review empty
    from tests.kg.factories import FlexClipFactory, FlexDatasetFactory, ReviewFactory, Stage1SetFactory

    dataset = FlexDatasetFactory()
    clip = FlexClipFactory(dataset=dataset, exercise__dataset=dataset)
    for _ in range(3):
        Stage1SetFactory(clip=clip)
        ReviewFactory(clip=clip)
    flex_label_set_compute(dataset=dataset)
    # when
    export_videoqa(dataset=dataset, out_dir=tmp_path / "qa")
    record = json.loads((tmp_path / "qa" / "flex_videoqa.json").read_text())[0]
    # then
    assert record["conversations"][5]["value"] == "The execution follows the standards; no errors were observed."
    assert record["conversations"][7]["value"].startswith("The execution scores 100.00 out of 100")


def test_export_flex_command_and_its_refusals(scored, tmp_path):
    dataset, _ = scored
    out = StringIO()
    call_command("export_flex", "--dataset", dataset.name, "--format", "flex", "--out", str(tmp_path / "a"), stdout=out)
    assert json.loads(out.getvalue())["format"] == "flex_layout"
    with pytest.raises(CommandError, match="export_dir_not_empty"):
        call_command("export_flex", "--dataset", dataset.name, "--format", "videoqa", "--out", str(tmp_path / "a"))


def test_export_without_a_label_set_is_refused(graph, tmp_path):
    dataset = flex_demo_create(name="flexnolabels", n_clips=3, seed=1, with_pose=False)
    with pytest.raises(CommandError, match="no_current_label_set"):
        call_command("export_flex", "--dataset", dataset.name, "--format", "flex", "--out", str(tmp_path / "x"))
