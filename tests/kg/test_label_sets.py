"""The ``score_flex`` job and FLEX label sets: statuses, determinism, versions, current flag."""
import pytest

from audit.models import AuditEntry
from kg.models import FlexLabelSet, FlexSampleLabel
from kg.services.label_sets import flex_label_set_compute
from kg.services.synthetic import flex_demo_create
from tasks.models import Job
from tasks.services import job_execute, job_launch
from tests.conftest import wait_for_job
from tests.factories import UserFactory
from tests.kg.factories import FlexClipFactory, FlexDatasetFactory, ReviewFactory, Stage1SetFactory

SETS = [["AK01:ET001", "AK04:ET005"], ["AK01:ET001", "AK05:ET018"], ["AK01:ET001"]]


def _sample(dataset, reviews):
    clip = FlexClipFactory(dataset=dataset, exercise__dataset=dataset)
    for slots in SETS:
        Stage1SetFactory(clip=clip, slot_keys=slots)
    for slots in reviews:
        ReviewFactory(clip=clip, slot_keys=slots)
    return clip


@pytest.fixture
def mixed_dataset(graph):
    """Four samples: final, tied (two reviews disagree), waiting for reviews, stage 1 open."""
    dataset = FlexDatasetFactory()
    final = _sample(dataset, [["AK01:ET001"], ["AK01:ET001", "AK04:ET016"], ["AK01:ET001"]])
    tied = _sample(dataset, [["AK01:ET001"], ["AK01:ET001", "AK04:ET016"]])
    waiting = _sample(dataset, [])
    open_ = FlexClipFactory(dataset=dataset, exercise__dataset=dataset)
    Stage1SetFactory(clip=open_, slot_keys=[])
    return dataset, {"final": final, "tied": tied, "waiting": waiting, "open": open_}


def test_label_set_rows_follow_the_two_stage_rules(mixed_dataset):
    # given
    dataset, clips = mixed_dataset
    # when
    label_set = flex_label_set_compute(dataset=dataset)
    rows = {r.clip_id: r for r in FlexSampleLabel.objects.filter(label_set=label_set)}
    # then
    final, tied = rows[clips["final"].pk], rows[clips["tied"].pk]
    assert (final.status, final.final, final.penalty, final.total) == ("final", ["AK01:ET001"], 6, 161)
    assert final.score == pytest.approx(100 * (1 - 6 / 161))
    assert final.proposal == ["AK01:ET001"]
    assert (tied.status, tied.final, tied.score, tied.tied) == ("tied", None, None, ["AK04:ET016"])
    assert rows[clips["waiting"].pk].status == "stage2_open" and rows[clips["waiting"].pk].proposal == ["AK01:ET001"]
    assert rows[clips["open"].pk].status == "stage1_open" and rows[clips["open"].pk].proposal is None
    assert label_set.counts["status_final"] == 1 and label_set.counts["stage1_sets"] == 10
    assert label_set.graph_version.number == 1 and label_set.is_current and label_set.number == 1


def test_same_inputs_give_the_same_label_set_and_a_new_version(mixed_dataset):
    # given
    dataset, _ = mixed_dataset
    # when
    first = flex_label_set_compute(dataset=dataset)
    second = flex_label_set_compute(dataset=dataset, make_current=False)
    # then
    def rows(ls):
        return list(FlexSampleLabel.objects.filter(label_set=ls).order_by("clip_id").values_list(
            "clip_id", "status", "proposal", "final", "penalty", "score"))

    assert (first.number, second.number) == (1, 2)
    assert first.input_hash == second.input_hash
    assert rows(first) == rows(second)
    assert FlexLabelSet.objects.get(is_current=True).pk == first.pk


def test_a_new_raw_label_changes_the_input_hash(mixed_dataset):
    dataset, clips = mixed_dataset
    before = flex_label_set_compute(dataset=dataset)
    ReviewFactory(clip=clips["tied"], slot_keys=["AK01:ET001"])
    after = flex_label_set_compute(dataset=dataset)
    assert after.input_hash != before.input_hash
    assert FlexSampleLabel.objects.get(label_set=after, clip=clips["tied"]).status == "final"
    assert FlexLabelSet.objects.get(is_current=True).pk == after.pk


def test_the_job_runs_in_process_and_a_second_run_writes_nothing(mixed_dataset):
    # given
    dataset, _ = mixed_dataset
    curator = UserFactory(roles=["curator"])
    job = job_launch(kind="score_flex", dataset=dataset, params={"make_current": "true"}, user=curator)
    # when
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED)  # a redelivered message
    job_execute(job_id=job.pk)
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    assert job.result["counts"]["status_final"] == 1 and job.result["graph_version"] == 1
    assert FlexLabelSet.objects.filter(dataset=dataset).count() == 1


def test_make_current_moves_the_flag_through_the_api(mixed_dataset, api_client_for):
    # given
    dataset, _ = mixed_dataset
    first = flex_label_set_compute(dataset=dataset)
    second = flex_label_set_compute(dataset=dataset, make_current=False)
    client, _ = api_client_for("curator")
    # when
    response = client.post(f"/api/kg/label-sets/{second.pk}/make-current/")
    listed = client.get(f"/api/kg/label-sets/?dataset={dataset.pk}").json()["results"]
    samples = client.get(f"/api/kg/label-sets/{second.pk}/samples/?status=final").json()["results"]
    # then
    assert response.status_code == 200 and response.json()["is_current"] is True
    assert [(ls["number"], ls["is_current"]) for ls in listed] == [(2, True), (1, False)]
    assert len(samples) == 1 and samples[0]["final"] == ["AK01:ET001"]
    first.refresh_from_db()
    assert first.is_current is False


def test_make_current_is_audited_once_per_label_set_whose_flag_moved(mixed_dataset, api_client_for):
    # given
    dataset, _ = mixed_dataset
    first = flex_label_set_compute(dataset=dataset)
    second = flex_label_set_compute(dataset=dataset, make_current=False)
    client, curator = api_client_for("curator")
    path = f"/api/kg/label-sets/{second.pk}/make-current/"
    # when: the switch, then the same request again (nothing left to move)
    responses = [client.post(path).status_code for _ in range(2)]
    # then: one update entry per label set, as the annotation app's set-current writes
    entries = list(AuditEntry.objects.filter(source=f"POST {path}").order_by("id").values_list(
        "action", "object_type", "object_id", "dataset_id", "changes", "actor_id"))
    assert responses == [200, 200]
    assert entries == [
        ("update", "kg.FlexLabelSet", str(first.pk), dataset.pk, {"is_current": [True, False]}, curator.pk),
        ("update", "kg.FlexLabelSet", str(second.pk), dataset.pk, {"is_current": [False, True]}, curator.pk),
    ]


def test_a_label_set_computed_as_current_is_audited_as_made_current(mixed_dataset):
    # given
    dataset, _ = mixed_dataset
    first = flex_label_set_compute(dataset=dataset)
    # when
    second = flex_label_set_compute(dataset=dataset, make_current=True)
    # then: its creation, then the flag moving off the first and onto it
    moves = list(AuditEntry.objects.filter(object_type="kg.FlexLabelSet", action="update").order_by("id")
                 .values_list("object_id", "changes"))
    assert moves == [(str(first.pk), {"is_current": [False, True]}),
                     (str(first.pk), {"is_current": [True, False]}),
                     (str(second.pk), {"is_current": [False, True]})]


def test_label_sets_are_for_curators(mixed_dataset, api_client_for):
    client, _ = api_client_for("annotator")
    assert client.get("/api/kg/label-sets/").status_code == 403


def test_a_sample_naming_a_slot_the_graph_lacks_is_flagged(graph):
    dataset = FlexDatasetFactory()
    clip = _sample(dataset, [])
    clip.flex_stage1_sets.update(slot_keys=["AK77:ET001"])
    label_set = flex_label_set_compute(dataset=dataset)
    assert FlexSampleLabel.objects.get(label_set=label_set).status == "graph_mismatch"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_score_flex_runs_on_a_real_worker(celery_worker, graph, api_client_for):
    # given: a synthetic FLEX dataset of 60 samples, three annotators and three reviewers each
    dataset = flex_demo_create(name="flexjob", n_clips=60, seed=4, with_pose=False)
    client, _ = api_client_for("curator")
    # when
    response = client.post("/api/jobs/launch/", {"kind": "score_flex", "dataset": dataset.pk}, format="json")
    assert response.status_code == 201, response.content
    job = wait_for_job(response.json()["id"])
    # then
    assert job.state == Job.State.SUCCEEDED, job.error_traceback
    assert job.progress == 1.0 and job.progress_message.startswith("label set v1: 60 final of 60")
    label_set = FlexLabelSet.objects.get(dataset=dataset)
    assert job.result["label_set_id"] == label_set.pk and label_set.is_current and label_set.job_id == job.pk
    assert label_set.counts["samples"] == 60 and label_set.counts["status_final"] == 60
    assert label_set.counts["stage1_sets"] == 180 and label_set.counts["reviews"] == 180
    # and: recomputing in this process gives the same hash and the same scores
    again = flex_label_set_compute(dataset=dataset, make_current=False)
    assert again.input_hash == label_set.input_hash
    assert list(FlexSampleLabel.objects.filter(label_set=again).order_by("clip_id").values_list("score", flat=True)) \
        == list(FlexSampleLabel.objects.filter(label_set=label_set).order_by("clip_id").values_list("score", flat=True))


def test_a_dataset_without_samples_gets_an_empty_label_set(graph, api_client_for):
    # given
    dataset = FlexDatasetFactory()
    client, _ = api_client_for("curator")
    # when
    label_set = flex_label_set_compute(dataset=dataset)
    agreement = client.get(f"/api/kg/agreement/?dataset={dataset.pk}").json()
    # then
    assert label_set.counts["samples"] == 0 and label_set.summary == {"final_samples": 0}
    assert agreement["overall"]["alpha_stage1"] is None and agreement["samples"] == 0
