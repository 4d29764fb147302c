"""Votes CSV import (all or nothing, refusals with line numbers), export, round trip, label export."""
import csv

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from annotation.models import Assignment, SeverityLabel, SeverityVote
from annotation.services.aggregation import SeverityParams, endpoint_aggregate, severity_aggregate
from annotation.services.votes_io import votes_export, votes_import
from audit.models import AuditEntry
from config.exceptions import DomainError
from datasets.models import Clip, Dataset, ErrorType, Repetition
from tests.annotation.factories import AssignmentFactory, EndPointMarkFactory, noisy_votes, voted_dataset

HEADER = "clip_id,exercise,participant,rep_index,annotator,error_type,severity"
ROWS = [
    "c1,squats,P1,0,alice,knee_in,2",
    "c1,squats,P1,0,bob,knee_in,1",
    "c1,squats,P1,1,alice,knee_in,0",
    "c2,squats,P2,0,alice,heels_up,3",
    "c3,push_ups,,0,carol,hips_low,1",
]


def write(tmp_path, text, name="votes.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def with_row(row, at=1):
    rows = list(ROWS)
    rows[at] = row
    return "\n".join([HEADER, *rows]) + "\n"


@pytest.mark.django_db
def test_import_creates_everything_it_does_not_know(tmp_path):
    # given
    path = write(tmp_path, "\n".join([HEADER, *ROWS]) + "\n")
    # when
    result = votes_import(dataset_name="crowd", path=path)
    # then
    dataset = Dataset.objects.get(name="crowd")
    assert result["votes"] == 5 and result["dataset_created"] is True
    assert sorted(Clip.objects.filter(dataset=dataset).values_list("external_id", "exercise__slug",
                                                                   "participant__external_id")) == [
        ("c1", "squats", "P1"), ("c2", "squats", "P2"), ("c3", "push_ups", None)]
    assert Repetition.objects.filter(clip__dataset=dataset).count() == 4
    assert sorted(ErrorType.objects.filter(exercise__dataset=dataset).values_list("code", flat=True)) == [
        "heels_up", "hips_low", "knee_in"]
    votes = SeverityVote.objects.filter(repetition__clip__dataset=dataset)
    assert sorted(votes.values_list("repetition__clip__external_id", "repetition__index", "annotator__username",
                                    "value")) == [("c1", 0, "alice", 2), ("c1", 0, "bob", 1), ("c1", 1, "alice", 0),
                                                  ("c2", 0, "alice", 3), ("c3", 0, "carol", 1)]
    carol = get_user_model().objects.get(username="carol")
    assert carol.groups.filter(name="annotator").exists() and not carol.has_usable_password()
    assert Assignment.objects.filter(clip__dataset=dataset, kind="severity", state="submitted").count() == 4
    assert AuditEntry.objects.filter(object_type="annotation.SeverityVote", dataset_id=dataset.pk).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("text,code,line", [
    (f"{HEADER},comment\n" + "\n".join(r + ",x" for r in ROWS) + "\n", "unknown_column", "Line 1"),
    ("clip_id,exercise,participant,rep_index,annotator,error_type\nc1,squats,P1,0,alice,knee_in\n",
     "missing_column", "Line 1"),
    (with_row("c1,squats,P1,0,bob,knee_in,4"), "invalid_severity", "line 3"),
    (with_row("c1,squats,P1,0,bob,knee_in,-1"), "invalid_severity", "line 3"),
    (with_row("c1,squats,P1,0,bob,knee_in,2.5"), "invalid_severity", "line 3"),
    (with_row("c1,squats,P1,0,bob,knee_in,"), "empty_cell", "line 3"),
    (with_row("c1,squats,P1,0,alice,knee_in,1"), "duplicate_vote", "lines 2, 3"),
    (with_row("c1,squats,P1,0,bob,knee_in,1", at=2) + "c1,squats,P1,0,bob,knee_in,1\n", "duplicate_vote",
     "lines 3, 4, 7"),
    (with_row("c1,squats,=cmd(),0,bob,knee_in,1"), "formula_cell", "line 3"),
    (with_row("c1,squats,P1,0,@SUM(A1),knee_in,1"), "formula_cell", "line 3"),
    (with_row("c1,squats,P1,0,bob,knee_in,1,extra"), "malformed_line", "line 3"),
    (with_row("c1,push_ups,P1,0,bob,knee_in,1"), "inconsistent_clip", "lines 2, 3, 4"),
    (with_row("c1,squats,P1,x,bob,knee_in,1"), "invalid_rep_index", "line 3"),
    (with_row("c1,Squats!,P1,0,bob,knee_in,1"), "invalid_exercise", "line 3"),
])
def test_a_bad_file_is_refused_as_a_whole_with_line_numbers(tmp_path, text, code, line):
    # given
    path = write(tmp_path, text)
    users_before = get_user_model().objects.count()
    # when
    with pytest.raises(DomainError) as error:
        votes_import(dataset_name="crowd", path=path)
    # then
    assert error.value.code == code
    assert line in error.value.detail
    assert not Dataset.objects.filter(name="crowd").exists()
    assert SeverityVote.objects.count() == 0 and Clip.objects.count() == 0
    assert get_user_model().objects.count() == users_before


@pytest.mark.django_db
def test_non_utf8_bytes_are_refused_with_their_line(tmp_path):
    # given: latin-1 "é" in an annotator name on line 4
    text = with_row("c1,squats,P1,1,ren\xe9,knee_in,0", at=2).encode("latin-1")
    path = write(tmp_path, text)
    # when
    with pytest.raises(DomainError) as error:
        votes_import(dataset_name="crowd", path=path)
    # then
    assert error.value.code == "not_utf8" and "line 4" in error.value.detail
    assert SeverityVote.objects.count() == 0


@pytest.mark.django_db
def test_several_problems_are_reported_together(tmp_path):
    path = write(tmp_path, "\n".join([HEADER, "c1,squats,P1,0,bob,knee_in,7", "c1,squats,P1,0,=x,knee_in,1"]) + "\n")
    with pytest.raises(DomainError) as error:
        votes_import(dataset_name="crowd", path=path)
    assert error.value.code == "invalid_file"
    assert set(error.value.fields["problems"]) == {"invalid_severity", "formula_cell"}


@pytest.mark.django_db
def test_importing_the_same_votes_again_is_refused_and_writes_nothing(tmp_path):
    # given
    path = write(tmp_path, "\n".join([HEADER, *ROWS]) + "\n")
    votes_import(dataset_name="crowd", path=path)
    # when
    with pytest.raises(DomainError) as error:
        votes_import(dataset_name="crowd", path=path)
    # then
    assert error.value.code == "vote_exists" and "lines 2, 3, 4, 5, 6" in error.value.detail
    assert SeverityVote.objects.count() == 5


@pytest.mark.django_db
def test_new_votes_on_known_clips_add_to_the_dataset(tmp_path):
    # given
    votes_import(dataset_name="crowd", path=write(tmp_path, "\n".join([HEADER, *ROWS]) + "\n"))
    more = write(tmp_path, "\n".join([HEADER, "c1,squats,P1,0,carol,knee_in,2", "c1,squats,P1,2,carol,knee_in,3"])
                 + "\n", name="more.csv")
    # when
    result = votes_import(dataset_name="crowd", path=more)
    # then
    assert (result["votes"], result["clips_created"], result["repetitions_created"]) == (2, 0, 1)
    assert SeverityVote.objects.filter(repetition__clip__external_id="c1").count() == 5


@pytest.mark.django_db
def test_export_then_import_gives_the_same_file_and_the_same_labels(tmp_path):
    # given
    source = voted_dataset(noisy_votes(n_reps=12, n_error_types=2, n_annotators=4, seed=21), name="source")
    first = str(tmp_path / "first.csv")
    votes_export(dataset=source.dataset, out=first)
    # when
    votes_import(dataset_name="copy", path=first)
    second = str(tmp_path / "second.csv")
    votes_export(dataset=Dataset.objects.get(name="copy"), out=second)
    # then
    assert open(first, "rb").read() == open(second, "rb").read()
    assert open(first).readline().strip() == HEADER

    def labels(name):
        label_set, _, _ = severity_aggregate(dataset=Dataset.objects.get(name=name), params=SeverityParams())
        return sorted(SeverityLabel.objects.filter(label_set=label_set).values_list(
            "repetition__clip__external_id", "repetition__index", "error_type__code", "n_votes", "mean", "majority",
            "bmm_score", "ds_class"))

    assert labels("source") == labels("copy")


@pytest.mark.django_db
def test_export_labels_writes_the_severity_and_end_point_files(tmp_path):
    # given
    data = voted_dataset(noisy_votes(n_reps=6, n_error_types=2, n_annotators=3, seed=22), name="labelled")
    for annotator in data.annotators:
        AssignmentFactory(annotator=annotator, clip=data.clip, kind=Assignment.Kind.ENDPOINTS)
        for frame in (30, 60):
            EndPointMarkFactory(clip=data.clip, annotator=annotator, frame=frame)
    label_set, _, _ = severity_aggregate(dataset=data.dataset, params=SeverityParams(method="mean"))
    endpoint_aggregate(dataset=data.dataset)
    out = tmp_path / "labels.csv"
    # when
    call_command("export_labels", "--dataset", "labelled", "--label-set", str(label_set.pk), "--out", str(out))
    # then
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["clip_id", "rep_index", "error_type", "n_votes", "mean", "majority", "bmm_score",
                             "ds_class"]
    assert len(rows) == 12
    assert {r["clip_id"] for r in rows} == {data.clip.external_id}
    assert {(r["bmm_score"], r["ds_class"]) for r in rows} == {("", "")}  # method=mean computed neither
    ends = list(csv.DictReader(open(tmp_path / "labels_endpoints.csv")))
    assert ends == [{"clip_id": data.clip.external_id, "count": "2", "ends": "30 60", "disagree": "false",
                     "reason": ""}]


@pytest.mark.django_db
def test_commands_exit_non_zero_with_the_error_code(tmp_path):
    bad = write(tmp_path, with_row("c1,squats,P1,0,bob,knee_in,9"))
    with pytest.raises(CommandError, match="^invalid_severity: .*line 3"):
        call_command("import_votes", "--dataset", "crowd", "--file", bad)
    with pytest.raises(CommandError, match="^file_not_found"):
        call_command("import_votes", "--dataset", "crowd", "--file", str(tmp_path / "nope.csv"))
    with pytest.raises(CommandError, match="^dataset_not_found"):
        call_command("export_votes", "--dataset", "nope", "--out", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="^no_label_set"):
        Dataset.objects.create(name="empty")
        call_command("export_labels", "--dataset", "empty", "--out", str(tmp_path / "y.csv"))


@pytest.mark.django_db
def test_the_reference_check_of_the_fast_path_refuses_a_missing_id():
    from django.db import connection

    from annotation.services.votes_io import _check_references

    clip = voted_dataset(noisy_votes(n_reps=2, n_error_types=1, n_annotators=2)).clip
    with connection.cursor() as cursor:
        _check_references(cursor, {"datasets_clip": [clip.pk, clip.pk]})
        with pytest.raises(DomainError) as error:
            _check_references(cursor, {"datasets_clip": [clip.pk, clip.pk + 10_000]})
    assert error.value.code == "dangling_reference"



def _plain_vote_indexes() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'annotation_severityvote'")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db
def test_a_bulk_load_into_a_small_table_builds_plain_indexes_afterwards_and_keeps_constraints():
    from datasets.bulk import indexes_deferred, is_postgres

    if not is_postgres():  # nothing to defer on SQLite: the load goes through the indexes
        with indexes_deferred(SeverityVote, n_rows=10) as dropped:
            assert dropped == []
        return
    before = _plain_vote_indexes()
    with indexes_deferred(SeverityVote, n_rows=10) as dropped:
        during = _plain_vote_indexes()
    after = _plain_vote_indexes()
    assert dropped and set(dropped) == before - during
    assert any("annotator" in name for name in dropped)
    assert "severity_vote_one_per_annotator" in during and "annotation_severityvote_pkey" in during
    assert after == before


@pytest.mark.django_db
def test_a_load_smaller_than_the_table_leaves_its_indexes_alone():
    from datasets.bulk import indexes_deferred

    voted_dataset(noisy_votes(n_reps=2, n_error_types=1, n_annotators=3))
    assert SeverityVote.objects.count() == 6
    with indexes_deferred(SeverityVote, n_rows=6) as dropped:
        assert dropped == []
