"""Jobs launched from the pages run on a real Celery worker; the pages follow them to the end."""
import json

import pytest

from annotation.models import LabelSet
from tasks.models import ModelRun
from tests.ui.world import halo_world

pytestmark = [pytest.mark.browser, pytest.mark.worker]

EXERCISES = ("squats", "sumo_squat")


@pytest.fixture(scope="module")
def labelled(ui_server, celery_worker):
    """Thirty clips of two exercises with simulated marks and votes from 30 participants."""
    return halo_world(name="ui-jobs", n_clips=300, seed=4, n_participants=30, with_votes=True, with_marks=True,
                      only_exercises=EXERCISES)


def test_a_curator_launches_aggregate_severity_and_sees_it_finish_and_the_new_label_set(open_as, labelled):
    # given
    s = open_as("curator")
    s.goto(f"/curate/{labelled.pk}/")
    before = LabelSet.objects.filter(dataset=labelled, kind="severity").count()
    # when
    s.page.click("button[data-job='aggregate_severity']")
    s.page.wait_for_url("**/jobs/*/")
    s.page.wait_for_selector("#job-progress[data-state='succeeded']", timeout=90_000)
    percent = s.page.text_content("#job-percent")
    s.shot("job-aggregate-severity")
    s.page.click("#job-links a")
    s.page.wait_for_selector("#label-sets")
    rows = s.page.locator("#label-sets tbody tr").all_text_contents()
    s.shot("curate-label-sets")
    # then
    new = LabelSet.objects.filter(dataset=labelled, kind="severity").order_by("-number").first()
    assert before == 0 and new is not None
    assert percent == "100%"
    assert any("Severity labels" in r and f"v{new.number}" in r and "current" in r for r in rows)
    assert s.console_errors == []


def test_an_admin_launches_a_training_job_sees_its_metrics_and_compares_two_runs(open_as, rich_world,
                                                                                 celery_worker):
    # given: label sets and a frozen split exist; earlier runs to compare with
    dataset, code, earlier_run = rich_world["dataset"], rich_world["error_type_code"], rich_world["runs"][0]
    s = open_as("admin")
    s.goto(f"/jobs/?launch=train_severity&dataset={dataset.pk}")
    s.page.wait_for_selector("[data-param='estimator']")
    # when
    s.page.fill("[data-param='estimator']", "linear")
    s.page.fill("[data-param='error_types']", code)
    s.shot("jobs-launch-form")
    s.page.click("#launch")
    s.page.wait_for_url("**/jobs/*/")
    s.page.wait_for_selector("#job-progress[data-state='succeeded']", timeout=120_000)
    result = json.loads(s.page.text_content("#job-result"))
    s.page.click("#job-links a")
    s.page.wait_for_selector("#run-headline")
    headline = s.page.text_content("#run-headline")
    s.shot("run-detail")
    s.goto(f"/runs/compare/?a={earlier_run}&b={result['run_id']}")
    metrics = s.page.locator("#compare-metrics tbody tr").count()
    plots = s.page.locator("img.plot").count()
    s.shot("runs-compare")
    # then
    run = ModelRun.objects.get(pk=result["run_id"])
    assert run.estimator == "linear" and run.kind == "train_severity"
    assert "mean_kappa1" in headline
    assert metrics > 0 and plots >= 2
    assert s.console_errors == []
