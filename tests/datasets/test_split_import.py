"""Imported and edited split versions: checked before freezing; leakage refused with the participants."""
import pytest
from django.core.management import CommandError, call_command

from datasets.models import SplitMembership, SplitVersion
from datasets.services.splits import split_edit, split_import, split_rule_violations
from tests.datasets.factories import toy_dataset
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("media_root")


def _csv(tmp_path, rows, name="split.csv", header="clip_id,split"):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows), encoding="utf-8")
    return path


def _by_participant(toy, split_of):
    return [(c.external_id, split_of(toy.participants.index(c.participant))) for c in toy.clips]


@pytest.mark.django_db
def test_plain_csv_split_is_imported_and_frozen(tmp_path):
    # given
    toy = toy_dataset(n_participants=6)
    path = _csv(tmp_path, _by_participant(toy, lambda p: ["train", "valid", "test"][p % 3]))
    # when
    call_command("import_dataset", "--format", "split_csv", "--dataset", toy.dataset.name, str(path))
    # then
    version = SplitVersion.objects.get(dataset=toy.dataset)
    assert version.source == "imported" and version.rule == "participant"
    assert version.counts["clips"] == {"train": 6, "val": 6, "test": 6, "excluded": 0}
    assert version.params["files"][0]["sha256"]


@pytest.mark.django_db
def test_participant_in_two_splits_is_refused_with_the_participants(tmp_path):
    # given: P000's first clip in train, its others in test
    toy = toy_dataset(n_participants=3)
    rows = _by_participant(toy, lambda p: "train")
    rows[1] = (rows[1][0], "test")
    path = _csv(tmp_path, rows)
    # when / then
    with pytest.raises(CommandError, match="split_leakage.*P000"):
        call_command("import_dataset", "--format", "split_csv", "--dataset", toy.dataset.name, str(path))
    assert SplitVersion.objects.count() == 0


@pytest.mark.django_db
def test_not_participant_based_split_is_accepted_under_its_rule_and_the_rule_is_verified():
    # given: a split by exercise (category-disjoint, like RepCount-A's open set)
    toy = toy_dataset(n_participants=3)
    by_exercise = {"squat": 0, "lunge": 1, "burpee": 2}
    entries = [(c.external_id, by_exercise[c.exercise.slug]) for c in toy.clips]
    # when
    version = split_import(dataset=toy.dataset, entries=entries, rule="exercise", rule_detail="by action")
    # then
    assert version.rule == "exercise" and not version.participant_based
    assert split_rule_violations(split_version=version) == []


@pytest.mark.django_db
def test_a_split_breaking_its_declared_rule_is_refused():
    # given: squat clips in two splits under the exercise rule
    toy = toy_dataset(n_participants=3)
    entries = [(c.external_id, i % 2) for i, c in enumerate(toy.clips)]
    # when / then
    with pytest.raises(Exception, match="split_rule_violated"):
        split_import(dataset=toy.dataset, entries=entries, rule="exercise")


@pytest.mark.django_db
def test_split_file_naming_unknown_clips_is_refused(tmp_path):
    # given
    toy = toy_dataset(n_participants=2)
    path = _csv(tmp_path, [(toy.clips[0].external_id, "train"), ("ghost-1", "test")])
    # when / then
    with pytest.raises(CommandError, match="unknown_clips.*ghost-1"):
        call_command("import_dataset", "--format", "split_csv", "--dataset", toy.dataset.name, str(path))
    assert SplitVersion.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("header,rows,code", [
    ("clip,split", [("x", "train")], "wrong_columns"),
    ("clip_id,split,extra", [("x", "train")], "wrong_columns"),
    ("clip_id,split", [("x", "holdout")], "unknown_split_name"),
    ("clip_id,split", [("../etc/passwd", "train")], "unsafe_path"),
])
def test_malformed_split_csv_is_refused_with_line(tmp_path, header, rows, code):
    # given
    toy = toy_dataset(n_participants=2)
    path = _csv(tmp_path, rows, header=header)
    # when / then
    with pytest.raises(CommandError, match=code):
        call_command("import_dataset", "--format", "split_csv", "--dataset", toy.dataset.name, str(path))
    assert SplitVersion.objects.count() == 0


@pytest.mark.django_db
def test_editing_makes_a_new_version_and_keeps_the_old(tmp_path):
    # given
    toy = toy_dataset(n_participants=6)
    entries = [(c.external_id, toy.participants.index(c.participant) % 3) for c in toy.clips]
    first = split_import(dataset=toy.dataset, entries=entries)
    moved = [c.external_id for c in toy.clips if c.participant == toy.participants[0]]
    # when
    second = split_edit(split_version=first, moves={ext: "test" for ext in moved}, note="P000 to test")
    # then
    assert second.version == 2 and second.parent_id == first.pk and second.source == "edited"
    assert second.manifest_hash != first.manifest_hash
    assert SplitMembership.objects.filter(split_version=first, clip__external_id=moved[0]).get().split == 0
    assert SplitMembership.objects.filter(split_version=second, clip__external_id=moved[0]).get().split == 2


@pytest.mark.django_db
def test_edit_that_splits_a_participant_is_refused():
    # given
    toy = toy_dataset(n_participants=3)
    first = split_import(dataset=toy.dataset,
                         entries=[(c.external_id, toy.participants.index(c.participant)) for c in toy.clips])
    # when / then
    with pytest.raises(Exception, match="split_leakage"):
        split_edit(split_version=first, moves={toy.clips[0].external_id: "test"})
    assert SplitVersion.objects.count() == 1
