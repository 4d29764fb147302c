"""``train_rep_counter``: count repetitions and locate their ends from pose (Halo Trainer, seed 000
Sec. 6.1, Tables 2, 7, 8).

The counter (default `tasks.core.estimators.rep_counter.PeriodicityRepCounter`) is tuned on training
clips whose annotators agree, then scored per exercise on the test clips whose annotators agree
(the end-point aggregation's ``disagree`` flag; the seed removes the others): OBO, MAE (relative to
the true count) and EORL(K) at K = 0.5 s (also 1 s and 2 s, as Table 8), against the consensus ends.

Memory stays bounded at any dataset size: at most ``max_clips_per_group`` training clips per
exercise are loaded (a seeded sample), and test clips are read and scored one at a time.
"""
from __future__ import annotations

import numpy as np

from config.exceptions import DomainError
from tasks.core.estimators.rep_counter import PoseClip
from tasks.core.metrics import count_mae, eorl, obo
from tasks.training import inputs as inp
from tasks.training.common import Timer, build_estimator, existing_run_result, input_hash, jsonable
from tasks.training.exercise import load_pose_inputs
from tasks.training.features_cache import pose_read, require_pose

__all__ = ["counting_report", "rep_counter_train"]

EORL_KS = (0.5, 1.0, 2.0)


def counting_report(pred_ends: list[np.ndarray], true_ends: list[np.ndarray], fps: np.ndarray) -> dict:
    """OBO, MAE and EORL(K) of a set of clips (end frames in, seconds for EORL)."""
    if not true_ends:
        return {"n_clips": 0, "obo": None, "mae": None, **{f"eorl_{k}": None for k in EORL_KS}}
    pred_counts = np.array([p.size for p in pred_ends])
    true_counts = np.array([t.size for t in true_ends])
    pred_s = [p / f for p, f in zip(pred_ends, fps)]
    true_s = [t / f for t, f in zip(true_ends, fps)]
    return jsonable({
        "n_clips": len(true_ends), "obo": obo(pred_counts, true_counts), "mae": count_mae(pred_counts, true_counts),
        **{f"eorl_{k}": eorl(pred_s, true_s, k) for k in EORL_KS},
        "mean_true_count": float(true_counts.mean()), "mean_pred_count": float(pred_counts.mean()),
    })


def rep_counter_train(*, job, progress, split_version=None, endpoint_label_set=None, estimator="periodicity",
                      estimator_params=None, seed=0, feature_length=8, max_clips_per_exercise=200) -> dict:
    from tasks.models import ModelRun
    from tasks.training.plots import bar_chart_png
    from tasks.training.runs import model_run_create

    done = existing_run_result(job)
    if done is not None:
        return done
    timer = Timer()
    estimator_params = estimator_params or {}
    dataset = job.dataset
    progress.update(0.01, "reading end points")
    loaded = load_pose_inputs(dataset=dataset, split_version=split_version, endpoint_label_set=endpoint_label_set,
                              feature_length=feature_length)
    clips, endpoints, names = loaded["clips"], loaded["endpoints"], loaded["names"]
    agree = np.array([not endpoints[int(c)][1] and endpoints[int(c)][0].size > 0 for c in clips.clip_id], dtype=bool)
    exercises = np.unique(clips.exercise_id)
    inp.require_test_clips(table=clips, exercise_ids=exercises, names=names)
    rng = np.random.default_rng(seed)
    train_idx = []
    for exercise in exercises:
        idx = np.flatnonzero((clips.exercise_id == exercise) & (clips.split == inp.TRAIN) & agree)
        if idx.size > max_clips_per_exercise:
            idx = np.sort(rng.choice(idx, max_clips_per_exercise, replace=False))
        train_idx.extend(idx.tolist())
    test_idx = np.flatnonzero((clips.split == inp.TEST) & agree)
    if not train_idx:
        raise DomainError("No training clip has agreeing end points.", code="no_training_clips")
    if test_idx.size == 0:
        raise DomainError("No test clip has agreeing end points.", code="no_test_clips")
    needed = np.concatenate([np.asarray(train_idx, dtype=np.intp), test_idx])
    # Every clip with end points must have its pose, whether or not this run samples it: a dataset
    # with holes is refused as a whole rather than silently trained on a different sample.
    require_pose(clips.clip_id, clips.pose_path)

    def pose_clip(i):
        return PoseClip(pose=pose_read(clips.pose_path[i]), fps=float(clips.fps[i]),
                        group=names[int(clips.exercise_id[i])])

    progress.update(0.05, f"loading {len(train_idx)} training clips")
    train_clips = []
    for k, i in enumerate(train_idx):
        if k % 100 == 0:
            progress.update(0.05 + 0.25 * k / len(train_idx), f"loading training clips {k}/{len(train_idx)}")
        train_clips.append(pose_clip(i))
    counter = build_estimator(estimator, task="rep_count", params=estimator_params, seed=seed)
    progress.update(0.3, "tuning the counter on train")
    counter.fit(train_clips, [endpoints[int(clips.clip_id[i])][0] for i in train_idx])
    del train_clips

    pred, true = [], []
    for k, i in enumerate(test_idx):
        if k % 50 == 0:
            progress.update(0.6 + 0.3 * k / test_idx.size, f"scoring test clips {k}/{test_idx.size}")
        pred.append(counter.predict([pose_clip(i)])[0])
        true.append(endpoints[int(clips.clip_id[i])][0])
    test_fps = clips.fps[test_idx]
    per_exercise = {}
    for exercise in exercises:
        mask = clips.exercise_id[test_idx] == exercise
        if mask.any():
            sel = np.flatnonzero(mask)
            per_exercise[names[int(exercise)]] = counting_report([pred[j] for j in sel], [true[j] for j in sel],
                                                                 test_fps[sel])
    overall = counting_report(pred, true, test_fps)
    excluded = int(np.sum((clips.split == inp.TEST) & ~agree))
    metrics = {"summary": {"test": overall}, "per_exercise": per_exercise,
               "test_clips_excluded_disagreeing": excluded,
               "tuned": jsonable({g: {k: v for k, v in p.items() if k != "direction"}
                                  for g, p in getattr(counter, "groups_", {}).items()})}
    headline = jsonable({"obo": overall["obo"], "mae": overall["mae"], "eorl_0.5": overall["eorl_0.5"],
                         "n_test_clips": overall["n_clips"]})
    plots = {
        "eorl_per_exercise": bar_chart_png({k: v["eorl_0.5"] for k, v in per_exercise.items()},
                                           title="EORL(0.5 s) per exercise (test, agreeing clips)", xlabel="EORL(0.5)"),
        "obo_per_exercise": bar_chart_png({k: v["obo"] for k, v in per_exercise.items()},
                                          title="OBO per exercise (test, agreeing clips)", xlabel="OBO"),
    }
    inputs = {
        "hash": input_hash(clips.clip_id[needed], clips.split[needed],
                           np.concatenate([endpoints[int(clips.clip_id[i])][0] for i in needed])),
        "n_train_clips": len(train_idx), "n_test_clips": int(test_idx.size),
        "test_clips_excluded_disagreeing": excluded,
    }
    params = {"split_version": loaded["split"].pk, "endpoint_label_set": loaded["endpoint_set"].pk,
              "estimator": estimator, "estimator_params": estimator_params, "seed": seed,
              "max_clips_per_exercise": max_clips_per_exercise}
    progress.check_cancelled()
    run = model_run_create(
        kind=ModelRun.Kind.REP_COUNTER, job=job, dataset=dataset, split_version=loaded["split"],
        model={"kind": ModelRun.Kind.REP_COUNTER.value, "model": counter}, estimator=estimator, params=params,
        seed=seed, inputs=jsonable(inputs), metrics=jsonable(metrics), headline=headline, plots=plots,
        endpoint_label_set_id=loaded["endpoint_set"].pk,
        label_sets={"endpoints": inp.label_set_info(loaded["endpoint_set"])}, duration_s=timer.seconds,
    )
    return {"run_id": run.pk, "headline": headline, "duration_s": timer.seconds}
