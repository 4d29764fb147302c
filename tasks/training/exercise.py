"""``train_exercise_classifier``: which exercise is this repetition? (Halo Trainer, seed 000 Sec. 6.3,
Table 10: per-exercise precision, recall and F1, their average, and the confusions between similar
exercises such as squats vs sumo squats.)

One classifier over the per-repetition pose features of every clip with consensus end points; the
split's held-out exercises are left out of training and evaluation (a classifier cannot name a
class it never saw). Metrics on the test split; validation metrics alongside.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from config.exceptions import DomainError
from tasks.core.metrics import precision_recall_f1
from tasks.training import inputs as inp
from tasks.training.common import Timer, build_estimator, existing_run_result, input_hash, jsonable
from tasks.training.features_cache import feature_config_for, rep_feature_table, require_pose

__all__ = ["classification_report", "exercise_train"]


def classification_report(y_true, y_pred, labels, names: dict) -> dict:
    """P/R/F1 per class and macro, accuracy and the confusion matrix (rows true, columns predicted)."""
    prf = precision_recall_f1(y_true, y_pred, labels=labels)
    position = {int(label): i for i, label in enumerate(labels)}
    t = np.array([position.get(int(v), -1) for v in y_true])
    p = np.array([position.get(int(v), -1) for v in y_pred])
    keep = (t >= 0) & (p >= 0)
    n = len(labels)
    confusion = np.bincount(t[keep] * n + p[keep], minlength=n * n).reshape(n, n)
    return jsonable({
        "per_exercise": [
            {"exercise": names.get(int(label), str(label)), "precision": prf.precision[i], "recall": prf.recall[i],
             "f1": prf.f1[i], "support": prf.support[i]}
            for i, label in enumerate(labels)
        ],
        "macro_precision": prf.macro_precision, "macro_recall": prf.macro_recall, "macro_f1": prf.macro_f1,
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else None,
        "n": int(len(y_true)),
        "labels": [names.get(int(label), str(label)) for label in labels],
        "confusion": confusion,
    })


def load_pose_inputs(*, dataset, split_version, endpoint_label_set, feature_length):
    """Split, end-point label set, member clips with end points, feature configuration."""
    split = inp.split_resolve(dataset=dataset, split_version_id=split_version)
    endpoint_set = inp.label_set_resolve(dataset=dataset, kind="endpoints", label_set_id=endpoint_label_set)
    names = inp.exercise_names(dataset=dataset)
    clips = inp.clip_table(split_version=split)
    endpoints = inp.endpoint_table(label_set=endpoint_set, clip_ids=clips.clip_id)
    clips = clips.take(np.isin(clips.clip_id, np.fromiter(endpoints, dtype=np.int64, count=len(endpoints))))
    if len(clips) == 0:
        raise DomainError("No clip of the split has end points in the label set.", code="no_labelled_clips")
    layouts = inp.exercise_layouts(dataset=dataset)
    layout_keys = {layouts[int(e)] for e in np.unique(clips.exercise_id)}
    if len(layout_keys) != 1:
        raise DomainError("Training needs one skeleton layout across exercises.", code="mixed_layouts")
    layout, joints, dims = layout_keys.pop()
    config = feature_config_for(layout, joints, feature_length)
    return {"split": split, "endpoint_set": endpoint_set, "names": names, "clips": clips,
            "endpoints": endpoints, "config": config, "dims": dims, "holdout": inp.holdout_exercise_ids(split)}


def exercise_train(*, job, progress, split_version=None, endpoint_label_set=None, estimator="hgb",
                   estimator_params=None, seed=0, feature_length=8) -> dict:
    from tasks.models import ModelRun
    from tasks.training.plots import confusion_png
    from tasks.training.runs import model_run_create

    done = existing_run_result(job)
    if done is not None:
        return done
    timer = Timer()
    estimator_params = estimator_params or {}
    dataset = job.dataset
    progress.update(0.01, "reading labels")
    loaded = load_pose_inputs(dataset=dataset, split_version=split_version, endpoint_label_set=endpoint_label_set,
                              feature_length=feature_length)
    clips, names, holdout = loaded["clips"], loaded["names"], loaded["holdout"]
    clips = clips.take(~np.isin(clips.exercise_id, list(holdout)))
    exercises = np.unique(clips.exercise_id)
    if exercises.size < 2:
        raise DomainError("Exercise classification needs at least two exercises.", code="too_few_exercises")
    inp.require_test_clips(table=clips, exercise_ids=exercises, names=names)
    require_pose(clips.clip_id, clips.pose_path)
    features = rep_feature_table(
        clip_ids=clips.clip_id, exercise_ids=clips.exercise_id, fps=clips.fps, pose_paths=clips.pose_path,
        ends=[loaded["endpoints"][int(c)][0] for c in clips.clip_id], config=loaded["config"], dims=loaded["dims"],
        cache_key=f"ls{loaded['endpoint_set'].pk}", progress=progress, start=0.02, end=0.5,
    )
    split_of = clips.split[clips.position(features.clip_id)]
    train, val, test = (np.flatnonzero(split_of == code) for code in (inp.TRAIN, inp.VAL, inp.TEST))
    if np.unique(features.exercise_id[train]).size < 2:
        raise DomainError("The training split holds fewer than two exercises.", code="too_few_exercises")
    progress.update(0.55, f"fitting on {train.size} repetitions")
    input_spec = {"sequence_length": loaded["config"].length, "joints": len(loaded["config"].joint_names),
                  "dims": loaded["dims"], "n_features": int(features.X.shape[1])}
    model = build_estimator(estimator, task="classification", params=estimator_params, seed=seed,
                            input_spec=input_spec)
    model.fit(features.X[train], features.exercise_id[train])
    progress.update(0.85, "evaluating")
    labels = np.asarray(sorted(exercises), dtype=np.int64)
    test_report = classification_report(features.exercise_id[test], model.predict(features.X[test]), labels, names)
    val_report = (classification_report(features.exercise_id[val], model.predict(features.X[val]), labels, names)
                  if val.size else None)
    headline_keys = ("macro_precision", "macro_recall", "macro_f1", "accuracy", "n")
    metrics = {
        "summary": {"test": {k: test_report[k] for k in headline_keys},
                    "val": None if val_report is None else {k: val_report[k] for k in headline_keys}},
        "test": test_report, "val": val_report,
        "excluded_holdout_exercises": sorted(names.get(e, str(e)) for e in holdout),
    }
    headline = jsonable({"macro_precision": test_report["macro_precision"], "macro_recall": test_report["macro_recall"],
                         "macro_f1": test_report["macro_f1"], "accuracy": test_report["accuracy"],
                         "n_test": test_report["n"]})
    plots = {"exercise_confusion": confusion_png(test_report["confusion"], test_report["labels"],
                                                 title="Exercise classification (test, row-normalised)")}
    config = loaded["config"]
    inputs = {
        "hash": input_hash(features.clip_id, features.rep_index, features.exercise_id, split_of, config.digest()),
        "n_clips": len(clips), "n_repetitions": int(len(features)),
        "repetitions_per_split": {"train": int(train.size), "val": int(val.size), "test": int(test.size)},
        "feature_config": {**asdict(config), "digest": config.digest()},
    }
    params = {"split_version": loaded["split"].pk, "endpoint_label_set": loaded["endpoint_set"].pk,
              "estimator": estimator, "estimator_params": estimator_params, "seed": seed,
              "feature_length": feature_length}
    progress.check_cancelled()
    run = model_run_create(
        kind=ModelRun.Kind.EXERCISE, job=job, dataset=dataset, split_version=loaded["split"],
        model={"kind": ModelRun.Kind.EXERCISE.value, "feature_config": asdict(config), "model": model,
               "labels": {int(k): v for k, v in names.items()}},
        estimator=estimator, params=params, seed=seed, inputs=jsonable(inputs), metrics=jsonable(metrics),
        headline=headline, plots=plots, endpoint_label_set_id=loaded["endpoint_set"].pk,
        label_sets={"endpoints": inp.label_set_info(loaded["endpoint_set"])}, duration_s=timer.seconds,
    )
    return {"run_id": run.pk, "headline": headline, "duration_s": timer.seconds}
