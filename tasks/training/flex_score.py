"""``train_flex_score``: regress the FLEX quality score from 3-D pose (FLEX, seed 002, AQA benchmark).

Each FLEX sample (a clip: one repetition of one action) gets the features of `tasks.core.features`
over the whole clip; the target is the sample's final score of the FLEX label set (the
knowledge-graph penalty score, 0-100, of samples whose two-stage annotation is final). One
regressor per action by default (``per_action``; actions differ in score range and motion), or
one model for all with the action as one-hot columns.

Metrics on the test split, per action and overall, as the FLEX code computes them
(`tasks.core.metrics.regression`): Spearman's rho and R-l2 (range of the evaluated true scores,
*not* x100). "Overall" gives both the mean of the per-action values (the AQA convention of
averaging over action categories) and the pooled value over all test samples.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from config.exceptions import DomainError
from tasks.core.metrics import l2, r_l2, spearman_rho
from tasks.training import inputs as inp
from tasks.training.common import Timer, build_estimator, existing_run_result, input_hash, jsonable
from tasks.training.features_cache import feature_config_for, rep_feature_table, require_pose

__all__ = ["flex_label_set_resolve", "flex_score_train", "regression_report"]


def flex_label_set_resolve(*, dataset, label_set_id):
    from kg.models import FlexLabelSet

    sets = FlexLabelSet.objects.filter(dataset=dataset)
    if label_set_id is None:
        label_set = sets.filter(is_current=True).first()
        if label_set is None:
            raise DomainError(f"Dataset {dataset.name!r} has no current FLEX label set; run score_flex first.",
                              code="no_label_set", fields={"kind": "flex"})
        return label_set
    label_set = sets.filter(pk=label_set_id).first()
    if label_set is None:
        raise DomainError(f"FLEX label set {label_set_id} is not a label set of dataset {dataset.name!r}.",
                          code="label_set_not_found", fields={"label_set": label_set_id})
    return label_set


def regression_report(pred, true) -> dict:
    pred, true = np.asarray(pred, dtype=float), np.asarray(true, dtype=float)
    if pred.size == 0:
        return {"n": 0, "spearman_rho": None, "r_l2": None, "l2": None}
    return jsonable({
        "n": int(pred.size), "spearman_rho": spearman_rho(pred, true),
        "r_l2": r_l2(pred, true) if np.ptp(true) > 0 else None, "l2": l2(pred, true),
    })


def _final_scores(label_set) -> dict[int, float]:
    from kg.models import FlexSampleLabel

    rows = FlexSampleLabel.objects.filter(label_set=label_set, status=FlexSampleLabel.Status.FINAL,
                                          score__isnull=False).values_list("clip_id", "score")
    return {int(c): float(s) for c, s in rows}


def flex_score_train(*, job, progress, split_version=None, label_set=None, per_action=True, estimator="hgb",
                     estimator_params=None, seed=0, feature_length=8) -> dict:
    from tasks.models import ModelRun
    from tasks.training.plots import bar_chart_png
    from tasks.training.runs import model_run_create

    done = existing_run_result(job)
    if done is not None:
        return done
    timer = Timer()
    estimator_params = estimator_params or {}
    dataset = job.dataset
    progress.update(0.01, "reading scores")
    split = inp.split_resolve(dataset=dataset, split_version_id=split_version)
    flex_set = flex_label_set_resolve(dataset=dataset, label_set_id=label_set)
    scores = _final_scores(flex_set)
    if not scores:
        raise DomainError(f"FLEX label set {flex_set.pk} has no final scores.", code="empty_label_set")
    names = inp.exercise_names(dataset=dataset)
    clips = inp.clip_table(split_version=split)
    clips = clips.take(np.isin(clips.clip_id, np.fromiter(scores, dtype=np.int64, count=len(scores))))
    if len(clips) == 0:
        raise DomainError("No scored sample is a member of the split version.", code="no_labelled_clips")
    actions = np.unique(clips.exercise_id)
    inp.require_test_clips(table=clips, exercise_ids=actions, names=names)
    require_pose(clips.clip_id, clips.pose_path)
    layouts = inp.exercise_layouts(dataset=dataset)
    layout_keys = {layouts[int(e)] for e in actions}
    if len(layout_keys) != 1:
        raise DomainError("FLEX score training needs one skeleton layout across actions.", code="mixed_layouts")
    layout, joints, dims = layout_keys.pop()
    config = feature_config_for(layout, joints, feature_length)
    # The whole clip is one repetition: a single end at its last frame (start 0).
    features = rep_feature_table(
        clip_ids=clips.clip_id, exercise_ids=clips.exercise_id, fps=clips.fps, pose_paths=clips.pose_path,
        ends=[np.array([max(int(n) - 1, 1)], dtype=np.float64) for n in clips.frame_count], config=config,
        dims=dims, cache_key="clip", progress=progress, start=0.02, end=0.4,
    )
    split_of = clips.split[clips.position(features.clip_id)]
    y = np.array([scores[int(c)] for c in features.clip_id])
    X = features.X
    if not per_action:
        onehot = (features.exercise_id[:, None] == actions[None, :]).astype(np.float32)
        X = np.hstack([X, onehot])
    input_spec = {"sequence_length": config.length, "joints": joints, "dims": dims, "n_features": int(X.shape[1])}
    groups = {int(a): features.exercise_id == a for a in actions} if per_action else {0: np.ones(len(y), bool)}
    pred = np.full(len(y), np.nan)
    models, skipped = {}, {}
    for k, (group, mask) in enumerate(sorted(groups.items())):
        progress.update(0.4 + 0.5 * k / len(groups), f"action {names.get(group, 'all')}")
        train = mask & (split_of == inp.TRAIN)
        if train.sum() < 2:
            skipped[names.get(group, "all")] = "fewer_than_two_training_samples"
            continue
        model = build_estimator(estimator, task="regression", params=estimator_params, seed=seed,
                                input_spec=input_spec)
        model.fit(X[train], y[train])
        models[group] = model
        scored = mask & (split_of != inp.TRAIN)
        if scored.any():
            pred[scored] = model.predict(X[scored])
    test = (split_of == inp.TEST) & np.isfinite(pred)
    per_action_report = {}
    for a in actions:
        sel = test & (features.exercise_id == a)
        per_action_report[names[int(a)]] = regression_report(pred[sel], y[sel])
    rhos = [r["spearman_rho"] for r in per_action_report.values() if r["spearman_rho"] is not None]
    rl2s = [r["r_l2"] for r in per_action_report.values() if r["r_l2"] is not None]
    pooled = regression_report(pred[test], y[test])
    overall = jsonable({"mean_spearman_rho": float(np.mean(rhos)) if rhos else None,
                        "mean_r_l2": float(np.mean(rl2s)) if rl2s else None,
                        "pooled_spearman_rho": pooled["spearman_rho"], "pooled_r_l2": pooled["r_l2"],
                        "n_test": pooled["n"]})
    val = (split_of == inp.VAL) & np.isfinite(pred)
    metrics = {"summary": {"test": overall}, "per_action": per_action_report, "skipped": skipped,
               "val": regression_report(pred[val], y[val]) if val.any() else None,
               "r_l2_scale": "not multiplied by 100; range of the evaluated true scores"}
    headline = jsonable({"spearman_rho": overall["mean_spearman_rho"], "r_l2": overall["mean_r_l2"],
                         "pooled_spearman_rho": overall["pooled_spearman_rho"], "n_test": overall["n_test"]})
    plots = {"rho_per_action": bar_chart_png({k: v["spearman_rho"] for k, v in per_action_report.items()},
                                             title="Spearman's rho per action (test)", xlabel="rho")}
    inputs = {"hash": input_hash(features.clip_id, y, split_of, config.digest(), bool(per_action)),
              "n_samples": int(len(y)),
              "samples_per_split": {n: int(np.sum(split_of == c)) for n, c in inp.SPLIT_CODES.items()},
              "feature_config": {**asdict(config), "digest": config.digest()}}
    params = {"split_version": split.pk, "label_set": flex_set.pk, "per_action": per_action, "estimator": estimator,
              "estimator_params": estimator_params, "seed": seed, "feature_length": feature_length}
    progress.check_cancelled()
    run = model_run_create(
        kind=ModelRun.Kind.FLEX_SCORE, job=job, dataset=dataset, split_version=split,
        model={"kind": ModelRun.Kind.FLEX_SCORE.value, "feature_config": asdict(config), "per_action": per_action,
               "actions": [int(a) for a in actions], "models": models},
        estimator=estimator, params=params, seed=seed, inputs=jsonable(inputs), metrics=jsonable(metrics),
        headline=headline, plots=plots, label_set_id=flex_set.pk,
        label_sets={"flex": {"id": flex_set.pk, "kind": "flex", "version": flex_set.number}},
        duration_s=timer.seconds,
    )
    return {"run_id": run.pk, "headline": headline, "duration_s": timer.seconds}
