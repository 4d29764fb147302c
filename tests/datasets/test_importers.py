"""Importers of the public formats: RepCount-A (real files), Fitness-AQA, QEVD, FLEX."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from django.core.management import call_command

from annotation.models import ErrorSegment, FeedbackNote
from datasets.importers.writer import dataset_import
from datasets.models import Clip, Dataset, ImportRecord, RepetitionSpan, SplitVersion
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

REPCOUNT = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "TransRAC"  # ../shared beside the repo
REPCOUNT_FILES = [REPCOUNT / f"new_{s}.csv" for s in ("train", "valid", "test")]

pytestmark = pytest.mark.usefixtures("media_root")


def repcount_pairs() -> dict[str, list[tuple[float, float]]]:
    """Every (start, end) pair of the real files, read with the csv module alone."""
    out = {}
    for path in REPCOUNT_FILES:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        for row in rows[1:]:
            values = [float(v) for v in row[5:] if v.strip()]
            out[row[3].removesuffix(".mp4")] = list(zip(values[0::2], values[1::2]))
    return out


@pytest.mark.django_db
def test_repcount_real_files_import_with_split_rule_and_quirks():
    # when
    summary = dataset_import(fmt="repcount_a", dataset_name="repcount", paths=REPCOUNT_FILES)
    # then
    dataset = Dataset.objects.get(name="repcount")
    assert Clip.objects.filter(dataset=dataset).count() == 1024
    assert summary["counts"]["repetitions"] == sum(len(v) for v in repcount_pairs().values())
    version = SplitVersion.objects.get(dataset=dataset)
    assert version.rule == "exercise" and not version.participant_based
    assert version.counts["clips"] == {"train": 646, "val": 128, "test": 250, "excluded": 0}
    record = ImportRecord.objects.get(dataset=dataset)
    mismatch = [w for w in record.warnings if w.get("clip") == "test118"]
    assert mismatch and mismatch[0]["declared_count"] == 6 and mismatch[0]["pairs"] == 5
    assert record.details["type_aliases"]["squant"] == "squat"
    assert record.license == "Apache-2.0"


@pytest.mark.django_db
def test_repcount_keeps_shared_boundaries_as_given():
    # when
    dataset_import(fmt="repcount_a", dataset_name="rc", paths=[REPCOUNT_FILES[2]])
    # then: test118's pairs, start of each = end of previous where the file says so
    spans = list(RepetitionSpan.objects.filter(repetition__clip__external_id="test118")
                 .order_by("repetition__index").values_list("start_frame", "end_frame"))
    assert spans == repcount_pairs()["test118"]


def _fitness(tmp_path, knees_forward, knees_inward=None, keys=None):
    root = tmp_path / "Squat" / "Labeled_Dataset"
    (root / "Labels").mkdir(parents=True)
    (root / "Labels" / "error_knees_forward.json").write_text(json.dumps(knees_forward))
    (root / "Labels" / "error_knees_inward.json").write_text(json.dumps(knees_inward or {k: [] for k in knees_forward}))
    if keys:
        (root / "Splits").mkdir()
        for split, ids in keys.items():
            (root / "Splits" / f"{split}_keys.json").write_text(json.dumps(ids))
    return tmp_path / "Squat"


@pytest.mark.django_db
def test_fitness_aqa_segments_in_frames_and_empty_list_means_no_error(tmp_path):
    # given
    root = _fitness(tmp_path, {"64000_1": [[2.62, 4.58]], "64000_2": [], "33053_1": [[0.5, 1.0], [2.0, 3.0]]},
                    keys={"train": ["64000_1", "64000_2"], "test": ["33053_1"]})
    # when
    dataset_import(fmt="fitness_aqa", dataset_name="faqa", paths=[root], options={"fps": "30"})
    # then
    segs = sorted(ErrorSegment.objects.values_list("clip__external_id", "error_type__code", "start_frame",
                                                   "end_frame"))
    assert segs == [("33053_1", "knees_forward", 15, 30), ("33053_1", "knees_forward", 60, 90),
                    ("64000_1", "knees_forward", 79, 137)]
    assert Clip.objects.filter(external_id="64000_2").exists()
    version = SplitVersion.objects.get()
    assert version.rule == "none" and version.counts["clips"]["train"] == 2


@pytest.mark.django_db
def test_fitness_aqa_key_list_with_unlabelled_clip_is_refused(tmp_path):
    # given
    root = _fitness(tmp_path, {"64000_1": []}, keys={"train": ["64000_1", "99999_9"]})
    # when / then
    with pytest.raises(Exception, match="unknown_clips.*99999_9"):
        dataset_import(fmt="fitness_aqa", dataset_name="faqa", paths=[root])
    assert Dataset.objects.count() == 0


@pytest.mark.django_db
def test_fitness_aqa_end_past_the_clip_is_refused(tmp_path):
    # given: a 3 s clip (90 frames) with an error ending at 4 s
    root = _fitness(tmp_path, {"64000_1": [[1.0, 4.0]]})
    info = tmp_path / "info.csv"
    info.write_text("clip_id,fps,frame_count\n64000_1,30,90\n")
    # when / then
    with pytest.raises(Exception, match="end_past_clip"):
        dataset_import(fmt="fitness_aqa", dataset_name="faqa", paths=[root], options={"clip_info": str(info)})
    assert Dataset.objects.count() == 0


def _qevd(tmp_path, *, bench=False, feedbacks=None, stamps=None):
    root = tmp_path / ("QEVD-FIT-COACH-Benchmark" if bench else "QEVD-FIT-COACH")
    (root / "long_range_videos").mkdir(parents=True)
    feedbacks = feedbacks if feedbacks is not None else (
        [""] * 5 + ["First up are squats!"] * 10 + [""] * 20 + ["Go lower!"] * 10 + [""] * 15)
    start_ns = 1_700_000_000 * 10**9
    ts = start_ns + np.arange(len(feedbacks), dtype=np.int64) * 50_000_000  # 20 fps
    np.save(root / "long_range_videos" / "0000_timestamps.npy", ts)
    origin = start_ns / 1e9 + 28800
    stamps = stamps if stamps is not None else [origin + 5 / 20, origin + 35 / 20]
    record = {"long_range_video_file": "long_range_videos/0000.mp4",
              "video_timestamps": "long_range_videos/0000_timestamps.npy", "feedbacks": feedbacks,
              "feedback_timestamps": stamps, "is_transition": [True, False][: len(stamps)]}
    (root / "feedbacks_long_range.json").write_text(json.dumps([record]))
    return root


@pytest.mark.django_db
def test_qevd_dense_feedback_becomes_timestamped_notes(tmp_path):
    # given
    train, bench = _qevd(tmp_path), _qevd(tmp_path, bench=True)
    # when
    dataset_import(fmt="qevd", dataset_name="qevd", paths=[train, bench])
    # then
    clip = Clip.objects.get(external_id="train-0000")
    assert clip.frame_count == 60 and clip.fps == pytest.approx(20.0)
    notes = list(FeedbackNote.objects.filter(clip=clip).order_by("frame").values_list("frame", "text"))
    assert notes == [(5, "First up are squats!"), (35, "Go lower!")]
    version = SplitVersion.objects.get()
    assert version.counts["clips"]["train"] == 1 and version.counts["clips"]["test"] == 1
    assert not ImportRecord.objects.get().warnings


@pytest.mark.django_db
def test_qevd_timestamp_count_mismatch_is_refused(tmp_path):
    # given: two utterances, one timestamp (the official loader asserts they match)
    root = _qevd(tmp_path, stamps=[1.0])
    # when / then
    with pytest.raises(Exception, match="feedback_count_mismatch"):
        dataset_import(fmt="qevd", dataset_name="qevd", paths=[root])
    assert Dataset.objects.count() == 0


def _flex(tmp_path, *, frames=4, bad_cell=False):
    root = tmp_path / "FLEX"
    rng = np.random.default_rng(0)
    for action, sample in ((1, 1), (1, 2), (2, 1)):
        folder = root / "Skeleton" / f"A{action:02d}" / f"{sample:03d}"
        folder.mkdir(parents=True)
        rows = rng.normal(size=(frames, 63)).round(4).tolist()
        if bad_cell:
            rows[1][7] = "oops"
        with open(folder / "skeleton_points.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([f"j{i}_{a}" for i in range(21) for a in "xyz"])
            writer.writerows(rows)
    (root / "Split_4").mkdir()
    scipy.io.savemat(root / "Split_4" / "split_4_train_list.mat",
                     {"consolidated_train_list": np.array([[1, 1, 80.5], [2, 1, 60.0]])})
    scipy.io.savemat(root / "Split_4" / "split_4_test_list.mat",
                     {"consolidated_test_list": np.array([[1, 2, 71.25]])})
    return root


@pytest.mark.django_db
def test_flex_skeletons_and_mat_split(tmp_path):
    # given
    root = _flex(tmp_path)
    # when
    dataset_import(fmt="flex", dataset_name="flexi", paths=[root], options={"fps": "25"})
    # then
    clip = Clip.objects.get(external_id="A01_002")
    assert (clip.frame_count, clip.fps, clip.exercise.joint_count, clip.exercise.dims) == (4, 25.0, 21, 3)
    assert np.load(clip.pose_file.path).shape == (4, 21, 3)
    version = SplitVersion.objects.get()
    assert version.counts["clips"] == {"train": 2, "val": 0, "test": 1, "excluded": 0}
    assert ImportRecord.objects.get().details["scores"]["A01_002"] == 71.25


@pytest.mark.django_db
def test_flex_non_numeric_cell_is_refused_with_line_and_column(tmp_path):
    # given
    root = _flex(tmp_path, bad_cell=True)
    # when / then
    with pytest.raises(Exception, match=r"invalid_number.*line 3.*column 8"):
        dataset_import(fmt="flex", dataset_name="flexi", paths=[root])
    assert Dataset.objects.count() == 0


@pytest.mark.django_db
def test_splits_only_import_reads_repcount_lists_into_an_existing_dataset():
    # given
    dataset_import(fmt="repcount_a", dataset_name="rc2", paths=[REPCOUNT_FILES[1]])
    # when
    call_command("import_dataset", "--format", "repcount_a", "--dataset", "rc2", "--splits-only",
                 str(REPCOUNT_FILES[1]))
    # then
    first, second = SplitVersion.objects.filter(dataset__name="rc2").order_by("version")
    assert second.manifest_hash == first.manifest_hash
    assert second.counts["clips"]["val"] == Clip.objects.filter(dataset__name="rc2").count() == 128
