"""make_split: participant-disjoint, stratified, deterministic, holdouts, frozen versions."""
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from datasets.models import FrozenError, SplitMembership, SplitVersion
from datasets.services.splits import split_make
from tasks.models import Job
from tasks.services import job_execute, job_launch
from tests.datasets.factories import toy_dataset
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("media_root")


def _assignment(version):
    rows = SplitMembership.objects.filter(split_version=version).values_list(
        "clip__external_id", "clip__participant__external_id", "clip__exercise__slug", "split")
    return sorted(rows)


@pytest.mark.django_db
def test_split_is_participant_disjoint_and_reports_balance():
    # given
    toy = toy_dataset(n_participants=20)
    # when
    version = split_make(dataset=toy.dataset, seed=3)
    # then
    rows = _assignment(version)
    splits_of = {}
    for _, participant, _, split in rows:
        splits_of.setdefault(participant, set()).add(split)
    assert all(len(s) == 1 for s in splits_of.values())
    assert version.rule == "participant"
    assert sum(version.counts["clips"][s] for s in ("train", "val", "test")) == len(toy.clips)
    assert set(version.balance["proportions"]) == {"train", "val", "test", "all"}
    assert {"exercise", "skill_level", "severity_class"} <= set(version.balance["proportions"]["all"])
    assert 0 <= version.balance["max_deviation"] <= 1
    assert version.balance["class_balance"]["error_types"]
    assert len(version.manifest_hash) == 64


@pytest.mark.django_db
def test_same_seed_same_manifest_other_seed_other_manifest():
    # given
    toy = toy_dataset(n_participants=24)
    # when
    first = split_make(dataset=toy.dataset, seed=5)
    again = split_make(dataset=toy.dataset, seed=5)
    other = split_make(dataset=toy.dataset, seed=6)
    # then
    assert first.manifest_hash == again.manifest_hash
    assert _assignment(first) == _assignment(again)
    assert other.manifest_hash != first.manifest_hash
    assert [first.version, again.version, other.version] == [1, 2, 3]


@pytest.mark.django_db
def test_zero_shot_holdout_exercise_only_in_test():
    # given
    toy = toy_dataset(n_participants=18)
    # when
    version = split_make(dataset=toy.dataset, seed=0, holdout_exercises="burpee")
    # then
    burpee_splits = {s for _, _, ex, s in _assignment(version) if ex == "burpee"}
    assert burpee_splits == {2}
    assert version.params["holdout_exercises"] == ["burpee"]


@pytest.mark.django_db
def test_few_shot_puts_k_clips_of_the_holdout_in_train():
    # given
    toy = toy_dataset(n_participants=24)
    # when
    version = split_make(dataset=toy.dataset, seed=0, holdout_exercises=["burpee"], few_shot_k=2)
    # then
    rows = _assignment(version)
    assert sum(1 for _, _, ex, s in rows if ex == "burpee" and s == 0) == 2
    assert not any(ex == "burpee" and s == 1 for _, _, ex, s in rows)
    assert any(ex == "burpee" and s == 2 for _, _, ex, s in rows)


@pytest.mark.django_db
@pytest.mark.parametrize("kwargs,code", [
    ({"ratios": "0.7,0.2,0.2"}, "invalid_ratios"),
    ({"ratios": "0.5,0.5"}, "invalid_ratios"),
    ({"ratios": "a,b,c"}, "invalid_ratios"),
    ({"holdout_exercises": "plank_jacks"}, "unknown_holdout_exercise"),
    ({"few_shot_k": 3}, "invalid_few_shot_k"),
    ({"stratify": "exercise,height"}, "invalid_stratify"),
])
def test_bad_parameters_are_refused_and_nothing_is_written(kwargs, code):
    # given
    toy = toy_dataset(n_participants=6)
    # when / then
    with pytest.raises(Exception, match=code):
        split_make(dataset=toy.dataset, **kwargs)
    assert SplitVersion.objects.count() == 0


@pytest.mark.django_db
def test_frozen_version_and_memberships_cannot_be_changed():
    # given
    toy = toy_dataset(n_participants=6)
    version = split_make(dataset=toy.dataset)
    membership = SplitMembership.objects.filter(split_version=version).first()
    # when / then
    version.note = "edited"
    with pytest.raises(FrozenError):
        version.save()
    membership.split = 2
    with pytest.raises(FrozenError):
        membership.save()


@pytest.mark.django_db
def test_make_split_job_runs_and_is_not_frozen_twice():
    # given
    toy = toy_dataset(n_participants=10)
    job = job_launch(kind="make_split", dataset=toy.dataset, params={"ratios": "0.6,0.2,0.2", "seed": "2"},
                     check_role=False)
    # when
    job_execute(job_id=job.pk)
    # then
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    version = SplitVersion.objects.get(pk=job.result["split_version"])
    assert version.job_id == job.pk and version.params["ratios"] == [0.6, 0.2, 0.2]
    assert job.result["max_deviation"] == version.balance["max_deviation"]


@pytest.mark.django_db
def test_make_split_job_refuses_unknown_parameter():
    # given
    toy = toy_dataset(n_participants=4)
    # when / then
    with pytest.raises(Exception, match="unknown_param"):
        job_launch(kind="make_split", dataset=toy.dataset, params={"ratio": "1,0,0"}, check_role=False)


@pytest.mark.django_db
def test_make_split_command_prints_the_version(capsys):
    # given
    toy = toy_dataset(name="cmd", n_participants=8)
    # when
    call_command("make_split", "--dataset", "cmd", "--seed", "1", "--ratios", "0.5,0.25,0.25")
    # then
    out = capsys.readouterr().out
    assert '"manifest_hash"' in out
    assert SplitVersion.objects.filter(dataset=toy.dataset).count() == 1


@pytest.mark.django_db
def test_make_split_command_error_exits_non_zero():
    # given
    toy_dataset(name="cmd2", n_participants=4)
    # when / then
    with pytest.raises(CommandError, match="unknown_holdout_exercise"):
        call_command("make_split", "--dataset", "cmd2", "--holdout-exercises", "nope")


@pytest.mark.django_db
def test_stratification_keeps_skill_shares_close_to_the_whole():
    # given: 30 participants of three skill levels
    toy = toy_dataset(n_participants=30, clips_per_participant=2)
    # when
    version = split_make(dataset=toy.dataset, seed=0, stratify="exercise,skill")
    # then
    shares = version.balance["proportions"]
    whole = shares["all"]["skill_level"]
    for split in ("train", "val", "test"):
        gap = max(abs(shares[split]["skill_level"].get(k, 0) - v) for k, v in whole.items())
        assert gap <= version.balance["max_deviation"] + 1e-9
    assert np.isclose(sum(whole.values()), 1.0)
