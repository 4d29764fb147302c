"""Synthetic FLEX data: structure, pose layout, two-stage labels, hidden truth, score ranges."""
import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from annotation.models import Assignment
from audit.models import AuditEntry
from datasets.models import AnnotatorProfile, Clip, Dataset, Participant
from kg.core.graph import parse_graph
from kg.core.scoring import score_matrix
from kg.core.synthetic import FLEX_SCORE_RANGES, generate_flex
from kg.core.two_stage import settle
from kg.models import FlexReview, FlexStage1Set, FlexTrueSlots
from kg.services.graph import SHIPPED_GRAPH
from kg.services.label_sets import flex_label_set_compute
from kg.services.synthetic import flex_demo_create


@pytest.fixture(scope="module")
def flex():
    return parse_graph(SHIPPED_GRAPH.read_bytes())


def test_generator_lays_out_flex_subjects_actions_and_repetitions(flex):
    # when: FLEX size
    syn = generate_flex(flex, n_samples=7600, seed=2)
    # then: 38 subjects x 20 actions x 10 repetitions, three skill levels
    assert len(syn.participant_skill) == 38 and set(syn.participant_skill.tolist()) == {0, 1, 2}
    assert np.bincount(syn.sample_action).tolist() == [380] * 20
    assert syn.sample_rep.max() == 9
    assert np.unique(syn.sample_participant * 20 + syn.sample_action, return_counts=True)[1].tolist() == [10] * 760
    assert (np.sort(syn.stage1_annotator, axis=1)[:, 1:] != np.sort(syn.stage1_annotator, axis=1)[:, :-1]).all()


def test_true_scores_fall_in_the_observed_flex_ranges_and_skill_matters(flex):
    syn = generate_flex(flex, n_samples=7600, seed=3)
    scores = syn.true_scores()
    for a in range(20):
        lo, hi = FLEX_SCORE_RANGES[a + 1]
        in_action = scores[syn.sample_action == a]
        assert lo - 0.005 <= in_action.min() and in_action.max() <= hi + 0.005
    skill = syn.participant_skill[syn.sample_participant]
    assert scores[skill == 0].mean() < scores[skill == 1].mean() < scores[skill == 2].mean()
    assert 64 < scores.mean() < 72  # FLEX's mean score is 68.15


def test_final_scores_after_two_stage_noise_stay_in_range(flex):
    # given
    syn = generate_flex(flex, n_samples=7600, seed=4)
    n = syn.n_samples
    # when
    result = settle(syn.stage1, np.full(n, 3), syn.reviews, np.full(n, 3), syn.valid)
    _, _, final = score_matrix(syn.weights, result.final, syn.valid)
    # then: stage 2 repairs most stage-1 noise; nearly every final score is in range
    lo = np.array([FLEX_SCORE_RANGES[a + 1][0] for a in syn.sample_action])
    hi = np.array([FLEX_SCORE_RANGES[a + 1][1] for a in syn.sample_action])
    assert np.mean((final >= lo - 0.005) & (final <= hi + 0.005)) > 0.998
    assert np.mean((result.final == syn.truth).all(axis=1)) > 0.95
    assert np.mean((result.proposal == syn.truth).all(axis=1)) < 0.9


def test_the_generator_is_deterministic(flex):
    a = generate_flex(flex, n_samples=200, seed=9)
    b = generate_flex(flex, n_samples=200, seed=9)
    assert (a.stage1 == b.stage1).all() and (a.reviews == b.reviews).all()
    assert np.array_equal(a.pose(17, flex), b.pose(17, flex))


@pytest.mark.django_db
def test_make_demo_data_flex_writes_samples_pose_labels_and_truth(graph, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    # when
    out = StringIO()
    call_command("make_demo_data", "--dataset", "flexdemo", "--kind", "flex", "--clips", "45", "--seed", "1",
                 stdout=out, stderr=StringIO())
    # then
    dataset = Dataset.objects.get(name="flexdemo")
    assert json.loads(out.getvalue())["clips"] == 45
    assert dataset.kind == "flex" and dataset.is_synthetic
    exercises = list(dataset.exercises.order_by("slug"))
    assert len(exercises) == 20 and exercises[0].name == "Standing Barbell Overhead Press"
    assert {(e.skeleton_layout, e.joint_count, e.dims) for e in exercises} == {("flex21", 21, 3)}
    assert set(Participant.objects.filter(dataset=dataset).values_list("skill_level", flat=True)) == {0, 1, 2}
    clip = Clip.objects.filter(dataset=dataset).order_by("id").first()
    pose = np.load(clip.pose_file.path, allow_pickle=False)
    assert pose.dtype == np.float32 and pose.shape == (clip.frame_count, 21, 3) and 60 <= clip.frame_count <= 150
    assert FlexStage1Set.objects.filter(clip__dataset=dataset).count() == 135
    assert FlexReview.objects.filter(clip__dataset=dataset).count() == 135
    assert FlexTrueSlots.objects.filter(clip__dataset=dataset).count() == 45
    assert Assignment.objects.filter(clip__dataset=dataset, kind="flex_stage2", state="submitted").count() == 135
    assert AnnotatorProfile.objects.filter(dataset=dataset, role="flex_stage1").count() == 10
    # and: no annotator reviews their own stage-1 work
    users1 = set(FlexStage1Set.objects.filter(clip__dataset=dataset).values_list("annotator_id", flat=True))
    users2 = set(FlexReview.objects.filter(clip__dataset=dataset).values_list("reviewer_id", flat=True))
    assert not users1 & users2


@pytest.mark.django_db
def test_synthetic_final_scores_match_the_hidden_truth_closely(graph):
    # given
    dataset = flex_demo_create(name="flexsyn", n_clips=120, seed=5, with_pose=False)
    # when
    label_set = flex_label_set_compute(dataset=dataset)
    # then
    truth = dict(FlexTrueSlots.objects.filter(clip__dataset=dataset).values_list("clip_id", "score"))
    rows = label_set.samples.values_list("clip_id", "score")
    errors = np.array([abs(score - truth[clip]) for clip, score in rows])
    assert label_set.counts["status_final"] == 120
    assert np.mean(errors < 1e-9) > 0.9


@pytest.mark.django_db
def test_an_existing_dataset_name_is_refused(graph):
    flex_demo_create(name="flexsame", n_clips=3, seed=1, with_pose=False)
    with pytest.raises(Exception, match="already exists"):
        flex_demo_create(name="flexsame", n_clips=3, seed=1, with_pose=False)


@pytest.mark.django_db
def test_make_demo_data_flex_leaves_one_audit_entry_summarising_what_it_wrote(graph):
    # when
    call_command("make_demo_data", "--dataset", "flexaudit", "--kind", "flex", "--clips", "7", "--seed", "3",
                 "--no-pose", stdout=StringIO(), stderr=StringIO())
    # then: the COPY writes send no signals; the run records itself once, with the row counts
    dataset = Dataset.objects.get(name="flexaudit")
    entry = AuditEntry.objects.get(dataset_id=dataset.pk)
    assert (entry.action, entry.object_type, entry.object_id) == ("create", "datasets.Dataset", str(dataset.pk))
    assert (entry.source, entry.actor_id) == ("command make_demo_data", None)
    assert entry.changes == {
        "generator": "flex", "seed": 3, "with_pose": False, "graph_version": graph.number,
        "participants": Participant.objects.filter(dataset=dataset).count(),
        "clips": 7, "repetitions": 7,
        "annotators": AnnotatorProfile.objects.filter(dataset=dataset, role="flex_stage1").count(),
        "reviewers": AnnotatorProfile.objects.filter(dataset=dataset, role="flex_stage2").count(),
        "stage1_sets": 21, "reviews": 21,
        "assignments": Assignment.objects.filter(clip__dataset=dataset).count(),
    }
