"""Training jobs end to end: real Celery worker, determinism, cancellation, refused inputs, zero-shot."""
import numpy as np
import pytest
from django.core.files.storage import default_storage

from datasets.models import SplitMembership
from tasks.models import Job, ModelRun
from tasks.services import job_cancel, job_execute, job_launch
from tests.conftest import wait_for_job
from tests.factories import UserFactory
from tests.tasks.factories import add_label_sets, make_training_dataset

FAST = {"estimator_params": {"max_iter": 30}}


def _run(kind, data, **params):
    if kind in ("train_severity", "train_exercise_classifier"):
        params.setdefault("estimator_params", FAST["estimator_params"])  # small trees: fast tests
    job = job_launch(kind=kind, dataset=data.dataset, params={"split_version": data.split.pk, **params},
                     user=UserFactory(roles=["admin"]))
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def data(db):
    training = make_training_dataset(n_clips=40, seed=0)
    add_label_sets(training)
    return training


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind, params, plot, headline_key", [
    ("train_severity", FAST, "kappa1_vs_target", "met_share"),
    ("train_exercise_classifier", FAST, "exercise_confusion", "macro_f1"),
    ("train_rep_counter", {}, "eorl_per_exercise", "eorl_0.5"),
])
def test_each_kind_runs_on_a_real_worker_and_writes_a_run(celery_worker, api_client_for, kind, params, plot,
                                                          headline_key):
    # given
    data = make_training_dataset(n_clips=40, seed=1)
    add_label_sets(data)
    client, admin = api_client_for("admin")
    # when
    response = client.post("/api/runs/", {"kind": kind, "dataset": data.dataset.pk,
                                          "params": {"split_version": data.split.pk, **params}}, format="json")
    job = wait_for_job(response.json()["id"], timeout=180)
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    assert job.queue == "training"
    run = ModelRun.objects.get(pk=job.result["run_id"])
    assert run.job_id == job.pk and run.launched_by == admin and run.split_version_id == data.split.pk
    assert headline_key in job.result["headline"] and run.headline == job.result["headline"]
    assert client.get(f"/api/runs/{run.pk}/plots/{plot}.png")["Content-Type"] == "image/png"
    assert any("succeeded" in line for line in job.log)


@pytest.mark.django_db
def test_severity_reports_kappa1_against_the_target_per_error_type(data):
    # when
    job = _run("train_severity", data)
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    run = ModelRun.objects.get(pk=job.result["run_id"])
    rows = {r["key"]: r for r in run.metrics["error_types"]}
    assert set(rows) == {"press_like:incomplete_reach", "press_like:torso_tilt",
                         "squat_like:head_dropping_downward", "squat_like:incomplete_descent"}
    depth = rows["squat_like:incomplete_descent"]
    assert depth["target"] == pytest.approx(0.85 * depth["annotator_kappa1"])
    assert depth["kappa1"] > depth["baseline_kappa1"] and depth["beats_baseline"] is True
    assert len(depth["thresholds"]) == 3 and depth["n_train"] > 0 and depth["n_test"] > 0
    assert run.metrics["summary"]["met"] == sum(bool(r["met"]) for r in rows.values())
    assert run.inputs["items_per_split"]["test"] > 0 and len(run.inputs["hash"]) == 64
    assert job.progress == 1.0


@pytest.mark.django_db
def test_same_inputs_and_seed_give_the_same_metrics(data):
    # when
    first = ModelRun.objects.get(pk=_run("train_severity", data, seed=7).result["run_id"])
    second = ModelRun.objects.get(pk=_run("train_severity", data, seed=7).result["run_id"])
    # then
    assert first.metrics == second.metrics
    assert first.inputs["hash"] == second.inputs["hash"]
    assert first.model_sha256 != "" and first.pk != second.pk


@pytest.mark.django_db
def test_a_cancelled_job_stops_between_error_types_and_writes_no_run(data, monkeypatch):
    # given: the admin cancels while the first error type is being fitted
    from tasks.training import severity

    real_fit = severity.fit_group

    def fit_then_cancel(**kwargs):
        Job.objects.filter(kind="train_severity").update(cancel_requested=True)
        return real_fit(**kwargs)

    monkeypatch.setattr(severity, "fit_group", fit_then_cancel)
    runs_before = default_storage.listdir("runs")[0] if default_storage.exists("runs") else []
    # when
    job = _run("train_severity", data)
    # then
    assert job.state == Job.State.CANCELLED
    assert ModelRun.objects.count() == 0
    runs_after = default_storage.listdir("runs")[0] if default_storage.exists("runs") else []
    assert sorted(runs_after) == sorted(runs_before)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_cancel_through_the_api_on_a_real_worker(celery_worker, api_client_for):
    # given
    data = make_training_dataset(n_clips=40, seed=2)
    add_label_sets(data)
    client, _ = api_client_for("admin")
    job_id = client.post("/api/runs/", {"kind": "train_severity", "dataset": data.dataset.pk,
                                        "params": {"split_version": data.split.pk}}, format="json").json()["id"]
    # when
    job_cancel(job=Job.objects.get(pk=job_id))
    job = wait_for_job(job_id, timeout=180)
    # then
    assert job.state == Job.State.CANCELLED
    assert not ModelRun.objects.filter(job_id=job_id).exists()


@pytest.mark.django_db
def test_an_error_type_with_one_class_in_train_is_skipped_with_its_reason(data):
    # given: every training repetition of torso_tilt is voted 0
    add_label_sets(data, constant_in_train={"torso_tilt": 0})
    # when
    job = _run("train_severity", data)
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    rows = {r["error_type"]: r for r in ModelRun.objects.get(pk=job.result["run_id"]).metrics["error_types"]}
    assert rows["torso_tilt"]["skipped"] == "single_class_in_train (0)"
    assert rows["torso_tilt"]["kappa1"] is None
    assert rows["incomplete_descent"]["skipped"] == ""
    assert any("skipped press_like:torso_tilt" in line for line in job.log)


@pytest.mark.django_db
def test_a_split_with_no_test_clip_of_an_exercise_is_refused(data):
    # given: every press_like test clip moved to train (a new split version)
    SplitMembership.objects.filter(split_version=data.split, clip__exercise__slug="press_like", split=2).delete()
    # when
    job = _run("train_severity", data)
    # then
    assert job.state == Job.State.FAILED and job.error.startswith("empty_test_split:")
    assert "press_like" in job.error
    assert ModelRun.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["train_severity", "train_exercise_classifier", "train_rep_counter"])
def test_clips_with_missing_pose_files_are_refused(data, kind):
    # given
    clip = data.clips[3]
    default_storage.delete(clip.pose_file.name)
    # when
    job = _run(kind, data)
    # then
    assert job.state == Job.State.FAILED and job.error.startswith("pose_missing:")
    assert str(clip.pk) in job.error
    assert ModelRun.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["train_severity", "train_exercise_classifier", "train_rep_counter"])
def test_training_without_a_label_set_is_refused(kind):
    # given: a split but no aggregation yet
    data = make_training_dataset(n_clips=12, seed=3)
    # when
    job = _run(kind, data)
    # then
    assert job.state == Job.State.FAILED and job.error.startswith("no_label_set:")
    assert ModelRun.objects.count() == 0


@pytest.mark.django_db
def test_generic_mode_trains_without_the_held_out_exercise_and_scores_it_zero_shot():
    # given: press_like is held out; its incomplete_reach shares the generic name incomplete_descent
    data = make_training_dataset(n_clips=48, seed=4, holdout=("press_like",))
    add_label_sets(data)
    # when
    job = _run("train_severity", data, mode="generic")
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    run = ModelRun.objects.get(pk=job.result["run_id"])
    zero = {r["error_type"]: r for r in run.metrics["zero_shot"]["error_types"]}
    assert run.metrics["zero_shot"]["holdout_exercises"] == ["press_like"]
    assert zero["incomplete_reach"]["group"] == "incomplete_descent" and zero["incomplete_reach"]["skipped"] == ""
    assert zero["incomplete_reach"]["n_test"] > 0 and zero["incomplete_reach"]["kappa1"] is not None
    assert zero["torso_tilt"]["skipped"] == "no_training_repetitions"
    assert {r["exercise"] for r in run.metrics["error_types"]} == {"squat_like"}
    assert "zero_shot_kappa1_vs_target" in run.plot_names()


@pytest.mark.django_db
def test_exercise_classifier_scores_per_exercise_and_macro(data):
    # when
    job = _run("train_exercise_classifier", data)
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    test = ModelRun.objects.get(pk=job.result["run_id"]).metrics["test"]
    assert sorted(r["exercise"] for r in test["per_exercise"]) == ["press_like", "squat_like"]
    assert test["macro_f1"] > 0.9
    assert np.asarray(test["confusion"]).sum() == test["n"]


@pytest.mark.django_db
def test_rep_counter_scores_only_test_clips_whose_annotators_agree(data):
    # when
    job = _run("train_rep_counter", data)
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    run = ModelRun.objects.get(pk=job.result["run_id"])
    overall = run.metrics["summary"]["test"]
    assert overall["n_clips"] + run.metrics["test_clips_excluded_disagreeing"] == \
        SplitMembership.objects.filter(split_version=data.split, split=2).count()
    assert run.metrics["test_clips_excluded_disagreeing"] == data.disagreeing_test_clips
    assert overall["obo"] >= 0.8 and overall["eorl_0.5"] >= 0.7
    assert set(run.metrics["per_exercise"]) == {"squat_like", "press_like"}


@pytest.mark.django_db
def test_flex_score_regresses_the_final_scores_per_action():
    # given: a FLEX demo dataset (21 joints, 3-D), its label set and a participant-disjoint split
    from datasets.models import Clip, Participant
    from kg.services.graph import graph_load
    from kg.services.label_sets import flex_label_set_compute
    from kg.services.synthetic import flex_demo_create
    from tests.tasks.factories import make_split

    graph_load()
    dataset = flex_demo_create(name="flextrain", n_clips=60, seed=0)
    flex_set = flex_label_set_compute(dataset=dataset)
    split = make_split(dataset=dataset, clips=list(Clip.objects.filter(dataset=dataset)),
                       participants=list(Participant.objects.filter(dataset=dataset)), rng=np.random.default_rng(0),
                       ratios=(0.6, 0.0, 0.4))
    actions = set(Clip.objects.filter(dataset=dataset, pk__in=SplitMembership.objects.filter(
        split_version=split, split=2).values("clip_id")).values_list("exercise__slug", flat=True))
    # when
    job = job_launch(kind="train_flex_score", dataset=dataset, user=UserFactory(roles=["admin"]),
                     params={"split_version": split.pk, "estimator": "linear", "per_action": False})
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    run = ModelRun.objects.get(pk=job.result["run_id"])
    assert run.label_set_id == flex_set.pk and run.label_sets["flex"]["version"] == flex_set.number
    assert set(run.metrics["per_action"]) == actions
    n_test = SplitMembership.objects.filter(split_version=split, split=2).count()
    assert run.metrics["summary"]["test"]["n_test"] == n_test
    assert -1.0 <= run.headline["pooled_spearman_rho"] <= 1.0
    assert "rho_per_action" in run.plot_names()
