"""The periodicity repetition counter (tasks.core.estimators.rep_counter) on skeleton-drawn clips."""
import numpy as np

from tasks.core.estimators.rep_counter import PeriodicityRepCounter, PoseClip, dominant_period
from tasks.core.metrics import eorl, obo
from tests.tasks.factories import render_pose


def _clips(n, exercise, seed):
    rng = np.random.default_rng(seed)
    clips, ends = [], []
    for _ in range(n):
        n_reps = int(rng.integers(3, 9))
        pose, clip_ends = render_pose(exercise=exercise, n_reps=n_reps, severities=rng.choice(3, size=(n_reps, 2)),
                                      rng=rng)
        clips.append(PoseClip(pose=pose, fps=30.0, group=exercise))
        ends.append(clip_ends)
    return clips, ends


def test_dominant_period_of_a_sine_is_its_period():
    # given: period 45 frames
    signal = np.sin(2 * np.pi * np.arange(600) / 45.0)
    # when
    period = dominant_period(signal, fps=30.0, min_period_s=0.4, max_period_s=8.0)
    # then
    assert abs(period - 45) <= 1


def test_dominant_period_of_noise_stays_in_range():
    # given: no periodic structure (autocorrelation peaks may all be negative)
    signal = np.random.default_rng(0).normal(size=400)
    # when
    period = dominant_period(signal, fps=30.0, min_period_s=0.4, max_period_s=8.0)
    # then
    assert 12 <= period <= 240


def test_counter_tuned_on_train_counts_and_locates_test_repetitions():
    # given
    train, train_ends = _clips(16, "squat_like", seed=1)
    test, test_ends = _clips(10, "squat_like", seed=2)
    # when
    counter = PeriodicityRepCounter(random_state=0).fit(train, train_ends)
    pred = counter.predict(test)
    # then
    assert obo([p.size for p in pred], [t.size for t in test_ends]) == 1.0
    assert eorl([p / 30 for p in pred], [t / 30 for t in test_ends], 0.5) >= 0.9


def test_an_exercise_unseen_in_training_uses_the_fallback():
    # given
    train, train_ends = _clips(12, "squat_like", seed=3)
    unseen, unseen_ends = _clips(6, "press_like", seed=4)
    counter = PeriodicityRepCounter(random_state=0).fit(train, train_ends)
    # when
    pred = counter.predict(unseen)
    # then
    assert "press_like" not in counter.groups_
    assert obo([p.size for p in pred], [t.size for t in unseen_ends]) >= 0.8


def test_same_seed_same_tuning():
    # given
    clips, ends = _clips(8, "press_like", seed=5)
    # when
    a = PeriodicityRepCounter(random_state=1, max_clips_per_group=5).fit(clips, ends)
    b = PeriodicityRepCounter(random_state=1, max_clips_per_group=5).fit(clips, ends)
    # then
    assert {k: v for k, v in a.groups_["press_like"].items() if k != "direction"} == \
        {k: v for k, v in b.groups_["press_like"].items() if k != "direction"}
