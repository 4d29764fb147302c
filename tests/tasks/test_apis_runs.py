"""The model registry API: admins list, read, compare runs and fetch their plots; others are refused."""
import pytest

from tasks.models import ModelRun
from tests.factories import DatasetFactory
from tests.tasks.test_runs_registry import _create


def _runs():
    dataset = DatasetFactory()
    rows = [{"key": "sq:depth", "exercise": "sq", "error_type": "depth", "kappa1": k, "target": 0.8, "met": k >= 0.8}
            for k in (0.7, 0.9)]
    a = _create(dataset=dataset, metrics={"summary": {"mean_kappa1": 0.7}, "error_types": rows[:1]},
                headline={"mean_kappa1": 0.7})
    b = _create(dataset=dataset, metrics={"summary": {"mean_kappa1": 0.9}, "error_types": rows[1:]},
                headline={"mean_kappa1": 0.9})
    return a, b


@pytest.mark.django_db
def test_admin_lists_runs_newest_first_with_their_headline(api_client_for):
    # given
    client, _ = api_client_for("admin")
    a, b = _runs()
    # when
    body = client.get("/api/runs/", {"kind": "train_severity"}).json()
    # then
    assert [r["id"] for r in body["results"]] == [b.pk, a.pk]
    assert body["results"][0]["headline"] == {"mean_kappa1": 0.9}


@pytest.mark.django_db
def test_run_detail_links_its_plots_and_the_plot_is_a_png(api_client_for):
    # given
    client, _ = api_client_for("admin")
    a, _ = _runs()
    # when
    detail = client.get(f"/api/runs/{a.pk}/").json()
    plot = client.get(detail["plots"][0])
    # then
    assert detail["plots"] == [f"/api/runs/{a.pk}/plots/kappa1_vs_target.png"]
    assert detail["model_sha256"] == a.model_sha256
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png"
    assert plot.content == b"\x89PNG"


@pytest.mark.django_db
def test_compare_answers_deltas_and_kappa1_against_target(api_client_for):
    # given
    client, _ = api_client_for("admin")
    a, b = _runs()
    # when
    body = client.get("/api/runs/compare/", {"a": a.pk, "b": b.pk}).json()
    # then
    assert body["a"]["id"] == a.pk and body["b"]["id"] == b.pk
    delta = {m["metric"]: m["delta"] for m in body["metrics"]}
    assert delta["mean_kappa1"] == pytest.approx(0.2)
    assert body["error_types"][0]["a_met"] is False and body["error_types"][0]["b_met"] is True


@pytest.mark.django_db
def test_compare_needs_two_ids_and_unknown_ids_are_404(api_client_for):
    # given
    client, _ = api_client_for("admin")
    a, _ = _runs()
    # when
    missing = client.get("/api/runs/compare/", {"a": a.pk})
    unknown = client.get("/api/runs/compare/", {"a": a.pk, "b": 999999})
    no_plot = client.get(f"/api/runs/{a.pk}/plots/nope.png")
    # then
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "compare_needs_two_runs"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_run_not_found"
    assert no_plot.status_code == 404 and no_plot.json()["error"]["code"] == "plot_not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["curator", "annotator"])
def test_runs_are_for_admins_only(api_client_for, role):
    # given
    client, _ = api_client_for(role)
    a, _ = _runs()
    # when
    responses = [client.get("/api/runs/"), client.get(f"/api/runs/{a.pk}/"),
                 client.get(f"/api/runs/{a.pk}/plots/kappa1_vs_target.png"),
                 client.post("/api/runs/", {"kind": "train_severity", "dataset": a.dataset_id}, format="json")]
    # then
    assert [r.status_code for r in responses] == [403, 403, 403, 403]


@pytest.mark.django_db
def test_admin_launches_a_training_job_on_the_training_queue(api_client_for, django_capture_on_commit_callbacks,
                                                            monkeypatch):
    # given
    client, admin = api_client_for("admin")
    dataset = DatasetFactory()
    sent = []
    monkeypatch.setattr("tasks.services._enqueue", lambda job_id, queue: sent.append((job_id, queue)))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/runs/", {"kind": "train_severity", "dataset": dataset.pk,
                                              "params": {"mode": "generic", "seed": 3}}, format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["queue"] == "training" and body["params"]["mode"] == "generic" and body["params"]["seed"] == 3
    assert sent == [(body["id"], "training")]


@pytest.mark.django_db
def test_launch_refuses_an_unknown_parameter_and_a_bad_estimator(api_client_for):
    # given
    client, _ = api_client_for("admin")
    dataset = DatasetFactory()
    # when
    unknown = client.post("/api/runs/", {"kind": "train_severity", "dataset": dataset.pk,
                                         "params": {"learning_rat": 0.1}}, format="json")
    bad = client.post("/api/runs/", {"kind": "train_severity", "dataset": dataset.pk,
                                     "params": {"estimator_params": {"max_depthh": 3}}}, format="json")
    # then
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_param"
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_param"
    assert ModelRun.objects.count() == 0


@pytest.mark.django_db
def test_admin_pages_list_compare_and_launch(client, make_user):
    # given
    admin = make_user("admin", is_staff=True)
    client.force_login(admin)
    a, b = _runs()
    # when
    listing = client.get("/admin/tasks/modelrun/")
    compare = client.get(f"/admin/tasks/modelrun/compare/?a={a.pk}&b={b.pk}")
    launch = client.get("/admin/tasks/modelrun/launch/")
    # then
    assert listing.status_code == 200 and b"Launch a training run" in listing.content
    assert compare.status_code == 200 and b"sq:depth" in compare.content
    assert f"/api/runs/{b.pk}/plots/kappa1_vs_target.png".encode() in compare.content
    assert launch.status_code == 200 and b"JSON object" in launch.content
