"""export_split: every format, the card and manifest, reproducibility, leakage refusal, balancing."""
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from datasets.exports.service import split_export
from datasets.models import SplitExport
from tasks.models import Job
from tasks.services import job_execute, job_launch
from tests.datasets.factories import HALPE_LEFT, frozen_split, toy_dataset
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

FORMATS = ["jsonl", "csv", "parquet", "npz", "llava", "qevd", "croissant"]

pytestmark = pytest.mark.usefixtures("media_root")


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def toy(db):
    return toy_dataset(n_participants=8, with_pose=True)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_writes_card_and_manifest_with_checksums_and_is_byte_identical(toy, tmp_path, fmt):
    # given
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt=fmt, out=tmp_path / "a")
    split_export(split_version=version, fmt=fmt, out=tmp_path / "b")
    # then
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    on_disk = _digests(tmp_path / "a")
    on_disk.pop("manifest.json")
    assert listed == on_disk
    card = (tmp_path / "a" / "README.md").read_text()
    assert version.manifest_hash in card and "CC-BY-4.0" in card and "raw votes" in card
    assert "| train | 12 |" in card
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.django_db
def test_jsonl_lines_carry_repetitions_consensus_labels_segments_feedback(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="jsonl", out=tmp_path / "x")
    # then
    lines = [json.loads(x) for x in (tmp_path / "x" / "train.jsonl").read_text().splitlines()]
    first = next(r for r in lines if r["clip_id"] == "toy-0000")
    assert first["split"] == "train" and first["participant"] == "P000"
    assert [r["index"] for r in first["repetitions"]] == [0, 1, 2]
    rep = first["repetitions"][1]
    assert rep["start_frame"] == first["repetitions"][0]["end_frame"]
    label = rep["labels"]["squat__left_knee_in"]
    assert label["n_votes"] == 3 and sum(label["votes"]) == 3
    assert label["severity_score"] == pytest.approx(sum(i * v for i, v in enumerate(label["votes"])) / 3)
    assert first["segments"][0]["start_frame"] == 40 and first["segments"][0]["start_s"] == pytest.approx(40 / 30)
    assert first["feedback"][0]["text"] == "=Keep your knees out"


@pytest.mark.django_db
def test_csv_is_long_and_formula_cells_are_escaped(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="csv", out=tmp_path / "x")
    # then
    import pandas as pd

    table = pd.read_csv(tmp_path / "x" / "train.csv")
    assert len(table) == 12 * 3 * 2  # clips x repetitions x error types
    assert set(table.columns) >= {"clip_id", "rep_index", "error_type", "severity_score", "severity_class",
                                  "votes_0", "votes_3"}
    feedback = pd.read_csv(tmp_path / "x" / "feedback.csv")
    assert set(feedback["text"]) == {"'=Keep your knees out"}


@pytest.mark.django_db
def test_parquet_holds_the_same_rows_unescaped(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="parquet", out=tmp_path / "p")
    split_export(split_version=version, fmt="csv", out=tmp_path / "c")
    # then
    import pandas as pd

    parquet = pq.read_table(tmp_path / "p" / "train.parquet").to_pandas()
    csv_ = pd.read_csv(tmp_path / "c" / "train.csv")
    assert list(parquet["severity_class"]) == list(csv_["severity_class"])
    assert set(pq.read_table(tmp_path / "p" / "feedback.parquet").column("text").to_pylist()) == {
        "=Keep your knees out"}


@pytest.mark.django_db
def test_npz_loads_with_numpy_alone_and_mirrored_copies_swap_sides(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="npz", out=tmp_path / "n", params={"balance": "two_step"})
    # then
    data = np.load(tmp_path / "n" / "train.npz")  # allow_pickle defaults to False
    assert data["pose"].shape[1:] == (180, 26, 2)
    augs = list(data["augmentation"])
    assert augs.count("mirror") == augs.count("")
    i = augs.index("")
    j = i + 1
    assert augs[j] == "mirror" and data["clip_id"][i] == data["clip_id"][j]
    n = data["lengths"][i]
    original, mirrored = data["pose"][i, :n], data["pose"][j, :n]
    right_of = HALPE_LEFT[0] + 1  # left_eye -> right_eye in Halpe order
    centre = np.nanmean(original[..., 0])
    assert np.allclose(mirrored[:, right_of, 0], 2 * centre - original[:, HALPE_LEFT[0], 0], atol=1e-4)
    codes = data["error_codes"][data["label_error"]]
    assert set(codes) <= {"squat__left_knee_in", "squat__right_knee_in", "lunge__left_knee_in",
                          "lunge__right_knee_in", "burpee__left_knee_in", "burpee__right_knee_in"}
    assert data["rep_offsets"][-1] == len(data["rep_end_frame"])


def _balanced(tmp_path, version, method):
    split_export(split_version=version, fmt="jsonl", out=tmp_path / method, params={"balance": method, "seed": 1})
    train = [json.loads(x) for x in (tmp_path / method / "train.jsonl").read_text().splitlines()]
    val = [json.loads(x) for x in (tmp_path / method / "val.jsonl").read_text().splitlines()]
    return train, val


def _classes(records):
    from collections import Counter

    return Counter((r["exercise"], tuple(sorted({code for rep in r["repetitions"] for code, lab in rep["labels"].items()
                                                 if lab["severity_class"] >= 1} | {s["error_type"] for s in r["segments"]})))
                   for r in records)


@pytest.mark.django_db
def test_two_step_downsamples_to_the_smallest_class_plus_mirrors(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    train, val = _balanced(tmp_path, version, "two_step")
    # then
    originals = [r for r in train if r["augmentation"] is None]
    copies = [r for r in train if r["augmentation"]]
    assert {r["augmentation"] for r in copies} == {"mirror"}
    assert len(copies) == len(originals)
    assert len(set(_classes(originals).values())) == 1
    assert all(r["augmentation"] is None for r in val)
    assert {r["source_clip_id"] for r in copies} == {r["clip_id"] for r in originals}


@pytest.mark.django_db
def test_dynamic_step_adds_copies_up_to_the_largest_class_and_removes_nothing(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    train, val = _balanced(tmp_path, version, "dynamic_step")
    # then
    originals = [r for r in train if r["augmentation"] is None]
    assert len(originals) == 12
    per_class = _classes([dict(r, exercise=r["exercise"]) for r in originals])
    copies = [r for r in train if r["augmentation"]]
    assert len(train) == max(per_class.values()) * len(per_class)
    assert all(r["source_clip_id"] in {o["clip_id"] for o in originals} for r in copies)
    assert all(r["augmentation"] is None for r in val)


@pytest.mark.django_db
def test_llava_answers_follow_the_templates_with_time_intervals(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="llava", out=tmp_path / "l", params={"llava_frames": "8"})
    # then
    records = json.loads((tmp_path / "l" / "train.json").read_text())
    first = next(r for r in records if r["id"] == "toy-0000")
    human, gpt = first["conversations"]
    assert human["from"] == "human" and human["value"].startswith("<image>\nThe video lasts for 6.00 seconds, and 8 "
                                                                  "frames are uniformly sampled at 0.00s, ")
    assert gpt["from"] == "gpt" and gpt["value"].startswith("The subject is performing a Squat.")
    assert "left knee in from frame time 1.33s to " in gpt["value"]
    assert first["video"] == "videos/toy-0000.mp4" and first["data_source"] == ["toy_train"]


def test_time_instruction_matches_the_seed_example():
    # given: the seed 001 example is a 93-frame clip at 30 fps
    from datasets.exports.llava import answer, time_instruction

    # when
    text = time_instruction(93, 30.0, 8)
    # then
    assert text == ("The video lasts for 3.10 seconds, and 8 frames are uniformly sampled at 0.00s, 0.43s, 0.87s, "
                    "1.30s, 1.73s, 2.17s, 2.60s, and 3.07s.")
    assert answer("Squat", []) == "The subject is performing a Squat. He performs it correctly, without any subtle errors."
    assert answer("Squat", [("knees forward", 2.62, 4.58)]) == (
        "The subject is performing a Squat. The body part committing errors is the following: knees forward from "
        "frame time 2.62s to 4.58s.")
    assert answer("Squat", [("knees forward", 3.09, 5.63), ("knees inward", 3.38, 5.34)]) == (
        "The subject is performing a Squat. The body parts committing errors are the following: knees forward from "
        "frame time 3.09s to 5.63s and knees inward from frame time 3.38s to 5.34s.")


@pytest.mark.django_db
def test_qevd_export_is_dense_and_on_the_loader_clock(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="qevd", out=tmp_path / "q", params={"qevd_span_s": "1"})
    # then
    records = json.loads((tmp_path / "q" / "train" / "feedbacks_long_range.json").read_text())
    first = records[0]
    assert len(first["feedbacks"]) == 180 and first["feedbacks"][44] == "" and first["feedbacks"][45] != ""
    assert first["feedbacks"][45:75] == ["=Keep your knees out"] * 30 and first["feedbacks"][75] == ""
    ts = np.load(tmp_path / "q" / "train" / first["video_timestamps"])
    assert ts[45] / 1e9 + 28800 == pytest.approx(first["feedback_timestamps"][0])


@pytest.mark.django_db
def test_leaking_split_is_refused_with_the_participants(toy, tmp_path):
    # given: P000's clips in train and test
    assignment = {c.pk: 0 for c in toy.clips}
    assignment[toy.clips[1].pk] = 2
    version = frozen_split(toy, assignment=assignment)
    # when / then
    with pytest.raises(Exception, match="split_leakage.*P000"):
        split_export(split_version=version, fmt="jsonl", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.django_db
def test_split_recorded_as_not_participant_based_exports(toy, tmp_path):
    # given: the same leak, but the split follows fixed lists
    assignment = {c.pk: 0 for c in toy.clips}
    assignment[toy.clips[1].pk] = 2
    version = frozen_split(toy, assignment=assignment, rule="none")
    # when
    split_export(split_version=version, fmt="jsonl", out=tmp_path / "x")
    # then
    assert "NOT participant-disjoint" in (tmp_path / "x" / "README.md").read_text()


@pytest.mark.django_db
def test_out_inside_source_tree_and_non_empty_dir_are_refused(toy, tmp_path):
    # given
    version = frozen_split(toy)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    # when / then
    with pytest.raises(CommandError, match="out_in_source_tree"):
        call_command("export_split", "--split-version", str(version.pk), "--format", "jsonl",
                     "--out", str(Path(settings.BASE_DIR) / "exports-here"))
    with pytest.raises(CommandError, match="out_not_empty"):
        call_command("export_split", "--split-version", str(version.pk), "--format", "jsonl", "--out", str(busy))
    assert (busy / "keep.txt").read_text() == "mine"
    call_command("export_split", "--split-version", str(version.pk), "--format", "jsonl", "--out", str(busy),
                 "--force")
    assert not (busy / "keep.txt").exists() and (busy / "train.jsonl").exists()


@pytest.mark.django_db
def test_unknown_option_and_format_are_refused(toy, tmp_path):
    # given
    version = frozen_split(toy)
    # when / then
    with pytest.raises(CommandError, match="unknown_export_option"):
        call_command("export_split", "--split-version", str(version.pk), "--format", "csv", "--out",
                     str(tmp_path / "x"), "--param", "colour=red")
    with pytest.raises(Exception, match="invalid_export_option"):
        split_export(split_version=version, fmt="csv", out=tmp_path / "y", params={"balance": "three_step"})
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.django_db
def test_export_job_writes_under_media_and_records_the_export(toy):
    # given
    version = frozen_split(toy)
    job = job_launch(kind="export_split", dataset=toy.dataset, check_role=False,
                     params={"split_version": version.pk, "format": "parquet"})
    # when
    job_execute(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    export = SplitExport.objects.get(pk=job.result["export"])
    assert export.state == "succeeded" and export.path == f"exports/{export.pk}"
    root = Path(settings.MEDIA_ROOT) / export.path
    assert (root / "train.parquet").exists() and (root / "manifest.json").exists()
    assert {f["path"] for f in export.files} >= {"README.md", "train.parquet"}


@pytest.mark.django_db
def test_a_retried_export_job_reuses_the_export_row_of_its_first_attempt(toy):
    # given: an export job launched without an export row (run_job, the CLI), whose first attempt
    # wrote its export; its worker then died before the job was marked finished
    version = frozen_split(toy)
    job = job_launch(kind="export_split", dataset=toy.dataset, check_role=False,
                     params={"split_version": version.pk, "format": "jsonl"})
    job_execute(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1))
    # when: the re-delivered message takes the job over and runs it again
    outcome = job_execute(job_id=job.pk, redelivered=True)
    # then: one export row for the job, the one the retry reports
    job.refresh_from_db()
    assert (outcome, job.state, job.attempts) == ("ran", Job.State.SUCCEEDED, 2)
    assert SplitExport.objects.filter(split_version=version).count() == 1
    export = SplitExport.objects.get(split_version=version)
    assert (export.job_id, export.state, job.result["export"]) == (job.pk, "succeeded", export.pk)
    assert (Path(settings.MEDIA_ROOT) / export.path / "manifest.json").exists()


@pytest.mark.django_db(transaction=True)
def test_background_reads_on_committed_data_match_reads_inside_a_transaction(tmp_path):
    # given: committed rows, so the vote histogram is read in a background thread
    from django.db import transaction

    from datasets.services.splits import split_make

    toy = toy_dataset(n_participants=6)
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="jsonl", out=tmp_path / "threaded")
    threaded_split = split_make(dataset=toy.dataset, seed=2)
    with transaction.atomic():
        split_export(split_version=version, fmt="jsonl", out=tmp_path / "inline")
        inline_split = split_make(dataset=toy.dataset, seed=2)
    # then
    assert _digests(tmp_path / "threaded") == _digests(tmp_path / "inline")
    assert threaded_split.manifest_hash == inline_split.manifest_hash
    assert threaded_split.balance == inline_split.balance


@pytest.mark.django_db
def test_failed_export_job_records_why_and_leaves_no_directory(toy):
    # given: a leaking split launched as a job directly (the API would refuse it up front)
    assignment = {c.pk: 0 for c in toy.clips}
    assignment[toy.clips[1].pk] = 2
    version = frozen_split(toy, assignment=assignment)
    job = job_launch(kind="export_split", dataset=toy.dataset, check_role=False,
                     params={"split_version": version.pk, "format": "jsonl"})
    # when
    job_execute(job_id=job.pk)
    # then
    job.refresh_from_db()
    export = SplitExport.objects.get(split_version=version)
    assert job.state == Job.State.FAILED and "split_leakage" in job.error
    assert export.state == "failed" and export.error.startswith("split_leakage: ")
    assert not (Path(settings.MEDIA_ROOT) / "exports" / str(export.pk)).exists()
