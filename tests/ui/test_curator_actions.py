"""The curator's form actions: make a label set current, send disagreeing clips back to the queue,
launch an export (Django test client; the pages themselves are covered in a browser elsewhere)."""
import pytest
from django.test import Client

from annotation.models import EndPointLabel, LabelSet
from annotation.services.queue import queue_next
from datasets.models import SplitExport
from tests.factories import UserFactory
from tests.ui.conftest import run_job_now
from tests.ui.world import halo_world

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def marked(ui_server):
    """Thirty clips with simulated end marks, aggregated twice (v1 current, v2 not)."""
    dataset = halo_world(name="ui-curator-actions", n_clips=300, seed=4, n_participants=30, with_marks=True,
                         only_exercises=("squats", "sumo_squat"))
    run_job_now("aggregate_endpoints", dataset)
    run_job_now("aggregate_endpoints", dataset, {"tolerance_s": 0.1})
    return dataset


def curator():
    client = Client()
    client.force_login(UserFactory(roles=["curator"]))
    return client


def test_a_curator_makes_another_label_set_current(marked):
    # given
    v2 = LabelSet.objects.get(dataset=marked, kind="endpoints", number=2)
    # when
    response = curator().post(f"/curate/{marked.pk}/label-sets/set-current/", {"label_set": v2.pk}, follow=True)
    # then
    assert response.status_code == 200
    assert list(LabelSet.objects.filter(dataset=marked, kind="endpoints", is_current=True)
                .values_list("number", flat=True)) == [2]
    assert "is now current" in response.content.decode()


def test_disagreeing_clips_sent_back_go_to_new_annotators(marked):
    # given: the clips the current end-point label set flags
    current = LabelSet.objects.get(dataset=marked, kind="endpoints", is_current=True)
    flagged = sorted(EndPointLabel.objects.filter(label_set=current, disagree=True).values_list("clip_id", flat=True))
    newcomer = UserFactory(roles=["annotator"])
    before = queue_next(user=newcomer, dataset=marked, kind="endpoints")
    # when
    page = curator().get(f"/curate/{marked.pk}/disagreements/?kind=endpoints").content.decode()
    response = curator().post(f"/curate/{marked.pk}/disagreements/send-back/",
                              {"kind": "endpoints", "clip": flagged})
    after = queue_next(user=newcomer, dataset=marked, kind="endpoints")
    # then
    assert flagged and all(f'value="{c}"' in page for c in flagged)
    assert response.status_code == 302
    assert before is None
    assert after.clip_id in flagged


def test_a_curator_launches_an_export_from_the_splits_page(marked):
    # given
    split = run_job_now("make_split", marked)
    # when
    response = curator().post(f"/curate/{marked.pk}/exports/launch/",
                              {"split_version": split.result["split_version"], "format": "jsonl"}, follow=True)
    # then
    export = SplitExport.objects.get(split_version_id=split.result["split_version"])
    assert export.job_id is not None and export.format == "jsonl"
    assert f'id="export-{export.pk}"' in response.content.decode()


def test_an_admin_cancels_a_queued_job_from_its_page(marked):
    # given
    from tasks.models import Job

    job = Job.objects.create(kind="dataset_stats", dataset=marked)
    admin = Client()
    admin.force_login(UserFactory(roles=["admin"]))
    # when
    partial = admin.post(f"/jobs/{job.pk}/cancel/", HTTP_HX_REQUEST="true")
    # then
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED
    assert 'data-state="cancelled"' in partial.content.decode()
    assert "hx-trigger" not in partial.content.decode()  # a finished job is not polled any more
