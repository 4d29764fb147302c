"""The model registry (tasks.training.runs): files then row, checksum on load, comparison."""
import numpy as np
import pytest
from django.core.files.storage import default_storage

from config.exceptions import DomainError
from tasks.core.estimators import make_estimator
from tasks.models import Job, ModelRun
from tasks.training.runs import model_run_compare, model_run_create, model_run_load_model, model_run_plot_read
from tests.factories import DatasetFactory, UserFactory


X = np.arange(20, dtype=np.float32).reshape(10, 2)
MODEL = make_estimator("linear", task="regression").fit(X, np.arange(10.0))


def _create(*, dataset, job=None, metrics=None, headline=None, params=None, inputs=None, model=MODEL):
    return model_run_create(
        kind=ModelRun.Kind.SEVERITY, job=job, dataset=dataset, split_version=None, model={"groups": {"a": model}},
        estimator="linear", params=params or {"seed": 0}, seed=0, inputs=inputs or {"hash": "h1"},
        metrics=metrics or {"summary": {"met": 1}}, headline=headline or {"met": 1},
        plots={"kappa1_vs_target": b"\x89PNG"},
        duration_s=1.5,
    )


@pytest.mark.django_db
def test_a_run_stores_its_model_and_plots_with_checksums_and_its_launcher():
    # given
    admin = UserFactory(roles=["admin"])
    dataset = DatasetFactory()
    job = Job.objects.create(kind="train_severity", dataset=dataset, launched_by=admin)
    # when
    run = _create(dataset=dataset, job=job)
    # then
    assert run.launched_by == admin and run.job == job
    assert run.model_path.startswith(f"runs/{run.key}/") and default_storage.exists(run.model_path)
    assert [a["name"] for a in run.artefacts] == ["model.joblib", "kappa1_vs_target"]
    assert run.plot_names() == ["kappa1_vs_target"]
    assert model_run_plot_read(run=run, name="kappa1_vs_target") == b"\x89PNG"
    loaded = model_run_load_model(run=run)
    np.testing.assert_array_equal(loaded["groups"]["a"].predict(X), MODEL.predict(X))


@pytest.mark.django_db
def test_a_model_file_whose_checksum_differs_is_refused():
    # given: the stored file is replaced behind the registry's back
    run = _create(dataset=DatasetFactory())
    with default_storage.open(run.model_path, "wb") as handle:
        handle.write(b"tampered")
    # when / then
    with pytest.raises(DomainError, match="model_checksum_mismatch"):
        model_run_load_model(run=run)


@pytest.mark.django_db
def test_files_are_removed_when_the_row_cannot_be_written(monkeypatch):
    # given: saving the row fails
    def fail(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ModelRun, "save", fail)
    dataset = DatasetFactory()
    before = set(default_storage.listdir("runs")[0]) if default_storage.exists("runs") else set()
    # when
    with pytest.raises(RuntimeError):
        _create(dataset=dataset)
    # then: no new run folder holds files
    after = set(default_storage.listdir("runs")[0]) if default_storage.exists("runs") else set()
    leftovers = [d for d in after - before if any(default_storage.listdir(f"runs/{d}")[1])]
    assert leftovers == []
    assert ModelRun.objects.count() == 0


@pytest.mark.django_db
def test_compare_gives_deltas_and_kappa1_against_target_per_error_type():
    # given
    dataset = DatasetFactory()
    rows_a = [{"key": "sq:depth", "exercise": "sq", "error_type": "depth", "kappa1": 0.7, "target": 0.8, "met": False}]
    rows_b = [{"key": "sq:depth", "exercise": "sq", "error_type": "depth", "kappa1": 0.9, "target": 0.8, "met": True}]
    a = _create(dataset=dataset, metrics={"summary": {"met": 0, "mean_kappa1": 0.7}, "error_types": rows_a},
                params={"seed": 0, "target": "bmm"})
    b = _create(dataset=dataset, metrics={"summary": {"met": 1, "mean_kappa1": 0.9}, "error_types": rows_b},
                params={"seed": 0, "target": "mean"})
    # when
    comparison = model_run_compare(a=a, b=b)
    # then
    deltas = {m["metric"]: m["delta"] for m in comparison["metrics"]}
    assert deltas["mean_kappa1"] == pytest.approx(0.2)
    assert deltas["met"] == 1.0
    assert comparison["params_changed"] == {"target": {"a": "bmm", "b": "mean"}}
    assert comparison["same_inputs"] is True
    [row] = comparison["error_types"]
    assert row["delta_kappa1"] == pytest.approx(0.2)
    assert (row["target"], row["a_met"], row["b_met"]) == (0.8, False, True)
