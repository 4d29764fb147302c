"""The synthetic generator as stored in the database: deterministic, truth kept apart, noise recoverable."""
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotation.models import Assignment, EndPointMark, SeverityVote
from audit.models import AuditEntry
from datasets.models import AnnotatorProfile, Clip, ClipTruth, Dataset, Participant, Repetition, TrueSeverity
from datasets.services.synthetic import synthetic_dataset_create


def votes_by_external_id(name):
    rows = SeverityVote.objects.filter(repetition__clip__dataset__name=name).values_list(
        "repetition__clip__external_id", "repetition__index", "error_type__code", "annotator__username", "value")
    return sorted((clip.split("-", 1)[1], idx, code, user.split("-")[-1], value) for clip, idx, code, user, value in rows)


@pytest.mark.django_db
def test_same_seed_gives_identical_data_and_another_seed_differs():
    # when
    synthetic_dataset_create(name="a", n_clips=12, seed=7, with_pose=False)
    synthetic_dataset_create(name="b", n_clips=12, seed=7, with_pose=False)
    synthetic_dataset_create(name="c", n_clips=12, seed=8, with_pose=False)
    # then
    assert votes_by_external_id("a") == votes_by_external_id("b")
    assert votes_by_external_id("a") != votes_by_external_id("c")
    frames_a = sorted(EndPointMark.objects.filter(clip__dataset__name="a").values_list("frame", flat=True))
    frames_b = sorted(EndPointMark.objects.filter(clip__dataset__name="b").values_list("frame", flat=True))
    assert frames_a == frames_b


@pytest.mark.django_db
def test_generated_dataset_has_pose_files_of_the_clip_frame_count(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    dataset = synthetic_dataset_create(name="posed", n_clips=3, seed=1, with_pose=True)
    for clip in Clip.objects.filter(dataset=dataset):
        array = np.load(clip.pose_file.open("rb"), allow_pickle=False)
        assert array.shape == (clip.frame_count, 26, 2)
        assert array.dtype == np.float32


@pytest.mark.django_db
def test_each_clip_has_three_end_point_annotators_and_each_item_ten_voters():
    dataset = synthetic_dataset_create(name="counts", n_clips=15, seed=3, with_pose=False)
    marks = EndPointMark.objects.filter(clip__dataset=dataset).values_list("clip_id", "annotator_id")
    per_clip = {c: len(set(a)) for c, a in _group(marks).items()}
    assert set(per_clip.values()) == {3}
    per_item = {k: len(v) for k, v in _group(
        ((r, e), a) for r, e, a in SeverityVote.objects.filter(repetition__clip__dataset=dataset)
        .values_list("repetition_id", "error_type_id", "annotator_id")).items()}
    assert set(per_item.values()) == {10}
    assert TrueSeverity.objects.filter(repetition__clip__dataset=dataset).count() == len(per_item)


def _group(pairs):
    out = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


@pytest.mark.django_db
def test_end_point_jitter_of_each_annotator_is_recovered_from_the_stored_marks():
    # given
    dataset = synthetic_dataset_create(name="noise", n_clips=400, seed=11, with_pose=False)
    truth = {t.clip_id: np.array(t.true_ends) for t in ClipTruth.objects.filter(clip__dataset=dataset)}
    errors = {}
    # when: each mark's distance to the nearest true end, per annotator
    for clip_id, annotator_id, frame in EndPointMark.objects.filter(clip__dataset=dataset).values_list(
            "clip_id", "annotator_id", "frame"):
        ends = truth[clip_id]
        nearest = ends[np.argmin(np.abs(ends - frame))]
        if abs(frame - nearest) <= 20:  # leave out extra (spurious) marks
            errors.setdefault(annotator_id, []).append(frame - nearest)
    # then: the configured jitter sd is reproduced for annotators with enough marks
    profiles = {p.user_id: p.params for p in AnnotatorProfile.objects.filter(dataset=dataset, role="endpoints")}
    checked = 0
    for annotator_id, diffs in errors.items():
        diffs = np.array(diffs, dtype=float)
        if len(diffs) < 150:
            continue
        checked += 1
        assert np.std(diffs) == pytest.approx(profiles[annotator_id]["jitter_sd_frames"], rel=0.25, abs=0.6)
        assert np.mean(diffs) == pytest.approx(profiles[annotator_id]["bias_frames"], abs=0.8)
    assert checked >= 5


@pytest.mark.django_db
def test_hidden_truth_is_not_reachable_by_an_annotator(api_client_for):
    # given: an annotator holding a synthetic clip
    dataset = synthetic_dataset_create(name="blind", n_clips=4, seed=2, with_pose=False)
    call_command("create_demo_users", dataset="blind", stdout=open("/dev/null", "w"))
    from django.contrib.auth import get_user_model

    client, _ = api_client_for(user=get_user_model().objects.get(username="annotator"))
    clip = Clip.objects.filter(dataset=dataset).first()
    # when
    truth = client.get(f"/api/clips/{clip.pk}/truth/")
    bodies = [client.get(url).content.decode() for url in (
        "/api/clips/", f"/api/clips/{clip.pk}/", f"/api/clips/{clip.pk}/repetitions/", "/api/votes/",
        f"/api/clips/{clip.pk}/end-points/")]
    # then
    assert truth.status_code == 403
    assert not any("true_" in body or "severity\"" in body for body in bodies)


@pytest.mark.django_db
def test_make_demo_data_refuses_an_existing_dataset_name():
    synthetic_dataset_create(name="twice", n_clips=2, seed=1, with_pose=False)
    with pytest.raises(CommandError, match="dataset_exists"):
        call_command("make_demo_data", dataset="twice", clips=2, seed=1, no_pose=True)
    assert Dataset.objects.filter(name="twice").count() == 1


@pytest.mark.django_db
def test_make_demo_data_leaves_one_audit_entry_summarising_what_it_wrote():
    # when
    call_command("make_demo_data", dataset="audited", clips=6, seed=2, no_pose=True,
                 stdout=StringIO(), stderr=StringIO())
    # then: the COPY writes send no signals; the run records itself once, with the row counts
    dataset = Dataset.objects.get(name="audited")
    entry = AuditEntry.objects.get(dataset_id=dataset.pk)
    assert (entry.action, entry.object_type, entry.object_id) == ("create", "datasets.Dataset", str(dataset.pk))
    assert (entry.source, entry.actor_id) == ("command make_demo_data", None)
    assert entry.changes == {
        "generator": "halo", "seed": 2, "with_pose": False,
        "participants": Participant.objects.filter(dataset=dataset).count(),
        "clips": 6,
        "repetitions": Repetition.objects.filter(clip__dataset=dataset).count(),
        "annotators": AnnotatorProfile.objects.filter(dataset=dataset).count(),
        "end_point_marks": EndPointMark.objects.filter(clip__dataset=dataset).count(),
        "severity_votes": SeverityVote.objects.filter(repetition__clip__dataset=dataset).count(),
        "assignments": Assignment.objects.filter(clip__dataset=dataset).count(),
    }
