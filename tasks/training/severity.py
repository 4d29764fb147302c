"""``train_severity``: per-error-type severity models with the Halo threshold search.

Halo Trainer (seed 000, Sec. 5, 5.1, 6.2, 6.4, Tables 4 and 9):

- a regressor per error type learns the continuous BMM-cleaned severity score in [0, 1] (or the
  mean vote / 3) from per-repetition pose features;
- three thresholds per error type turn the predicted score into a class 0..3; they are found on
  the validation split by the coarse-to-fine grid search maximising 0.9 Kappa1 + 0.1 Kappa0
  against the majority-vote class (`tasks.core.thresholds.search_thresholds`);
- on the test split, per (exercise, error type): Kappa1, Kappa0, the target (0.85 x the
  annotators' own Kappa1) and whether it is met; a majority-class baseline for reference;
- the *generic* (zero-shot) mode shares one model between the error types of one generic name
  across exercises, trains it without the split's held-out exercises and evaluates it on them.

The numeric part (`fit_group`) takes arrays only; `severity_train` reads the inputs, reports
progress per error type, and writes one model run at the end.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from annotation.core.agreement import HALO_TARGET_RATIO
from config.exceptions import DomainError
from tasks.core.metrics import kappa0, kappa1
from tasks.core.thresholds import apply_thresholds, search_thresholds
from tasks.training import inputs as inp
from tasks.training.common import Timer, build_estimator, existing_run_result, input_hash, jsonable
from tasks.training.features_cache import feature_config_for, rep_feature_table, require_pose

logger = logging.getLogger(__name__)

__all__ = ["GroupResult", "evaluate_classes", "fit_group", "severity_train"]

N_CLASSES = 4
TRAIN, VAL, TEST = inp.TRAIN, inp.VAL, inp.TEST


@dataclass
class GroupResult:
    """One trained group (an error type, or a generic name in generic mode)."""

    key: str
    model: object | None
    thresholds: np.ndarray | None
    val_objective: float | None
    baseline_class: int | None
    skipped: str = ""


def _confusion(y_true, y_pred) -> np.ndarray:
    return np.bincount(np.asarray(y_true) * N_CLASSES + np.asarray(y_pred),
                       minlength=N_CLASSES * N_CLASSES).reshape(N_CLASSES, N_CLASSES)


def evaluate_classes(y_true, y_pred, *, baseline_class: int, annotator_kappa1: float | None) -> dict:
    """Test metrics of one (exercise, error type): Kappa1/0, the majority-class baseline, target."""
    y_true = np.asarray(y_true, dtype=np.intp)
    y_pred = np.asarray(y_pred, dtype=np.intp)
    baseline = np.full_like(y_true, baseline_class)
    k1, k0 = kappa1(y_true, y_pred, N_CLASSES), kappa0(y_true, y_pred, N_CLASSES)
    b1, b0 = kappa1(y_true, baseline, N_CLASSES), kappa0(y_true, baseline, N_CLASSES)
    target = None if annotator_kappa1 is None else HALO_TARGET_RATIO * annotator_kappa1
    defined = np.isfinite(k1)
    return {
        "n_test": int(y_true.size),
        "test_class_counts": np.bincount(y_true, minlength=N_CLASSES).tolist(),
        "kappa1": k1, "kappa0": k0,
        "accuracy_within_1": float(np.mean(np.abs(y_true - y_pred) <= 1)) if y_true.size else None,
        "baseline_kappa1": b1, "baseline_kappa0": b0,
        # A constant prediction has kappa 0 (or undefined); the model must do strictly better.
        "beats_baseline": bool(defined and k1 > (b1 if np.isfinite(b1) else 0.0)),
        "annotator_kappa1": annotator_kappa1, "target": target,
        "met": None if target is None or not defined else bool(k1 >= target - 1e-12),
        "confusion": _confusion(y_true, y_pred).tolist(),
    }


def fit_group(*, key: str, X_train, y_train, major_train, X_val, major_val, estimator: str,
              estimator_params: dict, seed: int, input_spec: dict) -> GroupResult:
    """Fit the score regressor and search the thresholds on validation. Never raises on data it
    cannot learn from: it returns a skipped result with the reason."""
    classes = np.unique(major_train)
    baseline_class = int(np.bincount(major_train, minlength=N_CLASSES).argmax()) if major_train.size else None
    if major_train.size == 0:
        return GroupResult(key, None, None, None, baseline_class, "no_training_repetitions")
    if classes.size < 2:
        return GroupResult(key, None, None, None, baseline_class, f"single_class_in_train ({int(classes[0])})")
    if major_val.size == 0:
        return GroupResult(key, None, None, None, baseline_class, "no_validation_repetitions")
    model = build_estimator(estimator, task="regression", params=estimator_params, seed=seed, input_spec=input_spec)
    model.fit(X_train, y_train)
    try:
        thresholds, objective = search_thresholds(model.predict(X_val), major_val, n_classes=N_CLASSES)
    except ValueError as exc:  # e.g. validation holds only classes 0 and 1: Kappa1 undefined
        return GroupResult(key, None, None, None, baseline_class, f"thresholds_undefined: {exc}")
    return GroupResult(key, model, np.asarray(thresholds), float(objective), baseline_class)


def _summary(rows: list[dict]) -> dict:
    evaluated = [r for r in rows if not r.get("skipped") and r.get("kappa1") is not None]
    with_target = [r for r in evaluated if r.get("met") is not None]
    met = sum(1 for r in with_target if r["met"])
    return jsonable({
        "error_types": len(rows),
        "evaluated": len(evaluated),
        "skipped": len(rows) - len(evaluated),
        "with_target": len(with_target),
        "met": met,
        "met_share": met / len(with_target) if with_target else None,
        "beat_baseline": sum(1 for r in evaluated if r["beats_baseline"]),
        "mean_kappa1": float(np.mean([r["kappa1"] for r in evaluated])) if evaluated else None,
        "mean_kappa0": float(np.mean([r["kappa0"] for r in evaluated if r["kappa0"] is not None]))
        if evaluated else None,
    })


def _load(*, dataset, split_version, label_set, endpoint_label_set, target, progress, config_length):
    """Read labels, clips and features; align (repetition, error type) rows with feature rows."""
    split = inp.split_resolve(dataset=dataset, split_version_id=split_version)
    severity_set = inp.label_set_resolve(dataset=dataset, kind="severity", label_set_id=label_set)
    endpoint_set = inp.label_set_resolve(dataset=dataset, kind="endpoints", label_set_id=endpoint_label_set)
    error_types = inp.error_type_table(dataset=dataset)
    names = inp.exercise_names(dataset=dataset)
    holdout = inp.holdout_exercise_ids(split)
    rows = inp.severity_table(label_set=severity_set)
    if len(rows) == 0:
        raise DomainError(f"Severity label set {severity_set.pk} has no labels.", code="empty_label_set")
    clips = inp.clip_table(split_version=split)
    clips = clips.take(np.isin(clips.clip_id, np.unique(rows.clip_id)))
    if len(clips) == 0:
        raise DomainError("No labelled clip is a member of the split version.", code="no_labelled_clips")
    inp.require_test_clips(table=clips, exercise_ids=np.unique(clips.exercise_id), names=names)
    require_pose(clips.clip_id, clips.pose_path)

    layouts = inp.exercise_layouts(dataset=dataset)
    layout_keys = {layouts[int(e)] for e in np.unique(clips.exercise_id)}
    if len(layout_keys) != 1:
        raise DomainError("Severity training needs one skeleton layout across exercises.", code="mixed_layouts")
    layout, joints, dims = layout_keys.pop()
    config = feature_config_for(layout, joints, config_length)

    endpoints = inp.endpoint_table(label_set=endpoint_set, clip_ids=clips.clip_id)
    rep_counts = inp.repetition_counts(clips.clip_id)
    # Repetition i of a clip is consensus repetition i only when the counts agree.
    ends, unaligned = [], 0
    for clip_id in clips.clip_id:
        clip_ends, _ = endpoints.get(int(clip_id), (np.empty(0), True))
        if clip_ends.size != rep_counts.get(int(clip_id), 0):
            unaligned += 1
            clip_ends = np.empty(0)
        ends.append(clip_ends)
    features = rep_feature_table(
        clip_ids=clips.clip_id, exercise_ids=clips.exercise_id, fps=clips.fps, pose_paths=clips.pose_path,
        ends=ends, config=config, dims=dims, cache_key=f"ls{endpoint_set.pk}", progress=progress,
        start=0.02, end=0.35,
    )
    feature_row = _join_on_repetition(features.clip_id, features.rep_index, rows.clip_id, rows.rep_index)
    y = rows.bmm if target == "bmm" else rows.mean / (N_CLASSES - 1)
    clip_pos = clips.position(rows.clip_id)
    usable = (feature_row >= 0) & (rows.majority >= 0) & np.isfinite(y) & (clip_pos >= 0)
    split_code = np.where(clip_pos >= 0, clips.split[np.maximum(clip_pos, 0)], -1)
    exercise = np.where(clip_pos >= 0, clips.exercise_id[np.maximum(clip_pos, 0)], -1)
    dropped = {
        "unaligned_clips": unaligned,
        "rows_without_features": int(np.sum(feature_row < 0)),
        "rows_without_majority": int(np.sum(rows.majority < 0)),
        "rows_without_target": int(np.sum(~np.isfinite(y))),
    }
    idx = np.flatnonzero(usable)
    data = {
        "X": features.X, "feature_row": feature_row[idx], "y": y[idx].astype(np.float64),
        "major": rows.majority[idx].astype(np.intp), "split": split_code[idx], "exercise": exercise[idx],
        "error_type": rows.error_type_id[idx], "repetition": rows.repetition_id[idx],
    }
    annot, report_id = inp.annotator_kappa1_by_error_type(severity_set)
    return {
        "split": split, "severity_set": severity_set, "endpoint_set": endpoint_set, "error_types": error_types,
        "names": names, "holdout": holdout, "config": config, "dims": dims, "data": data, "dropped": dropped,
        "n_clips": len(clips), "annotator_kappa1": annot, "agreement_report": report_id,
    }


def _join_on_repetition(feature_clip, feature_rep, row_clip, row_rep) -> np.ndarray:
    """Feature row of every label row, matched on (clip, repetition index); -1 where none."""
    feature_key = feature_clip * 65536 + feature_rep  # a clip never has 65,536 repetitions
    row_key = row_clip * 65536 + row_rep
    if feature_key.size == 0:
        return np.full(row_key.shape, -1, dtype=np.int64)
    order = np.argsort(feature_key, kind="stable")
    pos = np.minimum(np.searchsorted(feature_key[order], row_key), order.size - 1)
    return np.where(feature_key[order][pos] == row_key, order[pos], -1)


def severity_train(*, job, progress, split_version=None, label_set=None, endpoint_label_set=None,
                   target="bmm", mode="specific", error_types="", estimator="hgb", estimator_params=None,
                   seed=0, feature_length=8) -> dict:
    """Train and evaluate severity models; write one model run. See the module docstring."""
    from tasks.models import ModelRun
    from tasks.training.plots import confusion_png, kappa_vs_target_png
    from tasks.training.runs import model_run_create

    done = existing_run_result(job)
    if done is not None:
        return done
    timer = Timer()
    estimator_params = estimator_params or {}
    dataset = job.dataset
    progress.update(0.01, "reading labels")
    loaded = _load(dataset=dataset, split_version=split_version, label_set=label_set,
                   endpoint_label_set=endpoint_label_set, target=target, progress=progress,
                   config_length=feature_length)
    data, holdout, names = loaded["data"], loaded["holdout"], loaded["names"]
    wanted = {c.strip() for c in (error_types or "").split(",") if c.strip()}
    ets = [e for e in loaded["error_types"] if not wanted or e["code"] in wanted]
    unknown = sorted(wanted - {e["code"] for e in loaded["error_types"]})
    if unknown:
        raise DomainError(f"Unknown error type code(s): {', '.join(unknown)}.", code="unknown_error_type",
                          fields={"unknown": unknown})
    config, dims = loaded["config"], loaded["dims"]
    input_spec = {"sequence_length": config.length, "joints": len(config.joint_names), "dims": dims,
                  "n_features": int(data["X"].shape[1])}

    if mode == "generic":
        groups: dict[str, list[dict]] = {}
        for e in ets:
            groups.setdefault(e["generic_name"], []).append(e)
    else:
        groups = {f"{e['exercise']}:{e['code']}": [e] for e in ets}

    in_holdout = np.isin(data["exercise"], list(holdout))
    rows_out, zero_shot_out, bundle = [], [], {}
    keys = sorted(groups)
    for k, key in enumerate(keys):
        members = groups[key]
        progress.update(0.35 + 0.55 * k / max(len(keys), 1), f"error type {k + 1}/{len(keys)}: {key}")
        in_group = np.isin(data["error_type"], [e["id"] for e in members])
        fit_rows = in_group & ~in_holdout
        tr = np.flatnonzero(fit_rows & (data["split"] == TRAIN))
        va = np.flatnonzero(fit_rows & (data["split"] == VAL))
        result = fit_group(
            key=key, X_train=data["X"][data["feature_row"][tr]], y_train=data["y"][tr], major_train=data["major"][tr],
            X_val=data["X"][data["feature_row"][va]], major_val=data["major"][va], estimator=estimator,
            estimator_params=estimator_params, seed=seed, input_spec=input_spec,
        )
        if result.model is not None:
            bundle[key] = {"error_type_ids": [e["id"] for e in members], "model": result.model,
                           "thresholds": result.thresholds.tolist()}
        for e in members:
            te = np.flatnonzero((data["error_type"] == e["id"]) & (data["split"] == TEST))
            annot = loaded["annotator_kappa1"].get(e["id"], e["annotator_kappa1"])
            row = {
                "key": f"{e['exercise']}:{e['code']}", "group": key, "exercise": e["exercise"],
                "error_type": e["code"], "error_type_id": e["id"], "generic_name": e["generic_name"],
                "n_train": int(tr.size), "n_val": int(va.size), "n_test": int(te.size),
                "thresholds": None if result.thresholds is None else result.thresholds.tolist(),
                "val_objective": result.val_objective, "skipped": result.skipped,
                "target_source": "agreement_report" if e["id"] in loaded["annotator_kappa1"] else "error_type",
            }
            if not result.skipped and te.size == 0:
                row["skipped"] = "no_test_repetitions"
            if not row["skipped"]:
                scores = result.model.predict(data["X"][data["feature_row"][te]])
                pred = apply_thresholds(scores, result.thresholds)
                row.update(evaluate_classes(data["major"][te], pred, baseline_class=result.baseline_class,
                                            annotator_kappa1=annot))
            else:
                row.update({"kappa1": None, "kappa0": None, "met": None, "beats_baseline": False,
                            "target": None if annot is None else HALO_TARGET_RATIO * annot,
                            "annotator_kappa1": annot})
            (zero_shot_out if e["exercise_id"] in holdout else rows_out).append(jsonable(row))
        if result.skipped:
            progress.log(f"skipped {key}: {result.skipped}")

    progress.update(0.92, "writing the run")
    summary = _summary(rows_out)
    zero_summary = _summary(zero_shot_out) if mode == "generic" else None
    metrics = {"summary": summary, "error_types": rows_out}
    if mode == "generic":
        metrics["zero_shot"] = {
            "holdout_exercises": sorted(names.get(e, str(e)) for e in holdout),
            "summary": zero_summary, "error_types": zero_shot_out,
            "note": "" if holdout else "The split holds out no exercise: no zero-shot evaluation.",
        }
    elif zero_shot_out:
        # Specific models never see a held-out exercise: listed, skipped, outside the summary.
        metrics["held_out_error_types"] = zero_shot_out
    pooled = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    for row in rows_out:
        if row.get("confusion"):
            pooled += np.asarray(row["confusion"], dtype=np.int64)
    metrics["summary"]["confusion_pooled"] = pooled.tolist()
    plots = {
        "kappa1_vs_target": kappa_vs_target_png(
            [{"label": r["key"], "kappa1": r["kappa1"], "target": r["target"], "met": r["met"]} for r in rows_out]),
        "severity_confusion": confusion_png(pooled, ["0", "1", "2", "3"], title="Severity (all error types, test)"),
    }
    if mode == "generic" and zero_shot_out:
        plots["zero_shot_kappa1_vs_target"] = kappa_vs_target_png(
            [{"label": r["key"], "kappa1": r["kappa1"], "target": r["target"], "met": r["met"]} for r in zero_shot_out],
            title="Zero-shot Kappa1 vs target (held-out exercises)")
    headline = jsonable({
        "met": summary["met"], "with_target": summary["with_target"], "met_share": summary["met_share"],
        "evaluated": summary["evaluated"], "skipped": summary["skipped"], "beat_baseline": summary["beat_baseline"],
        "mean_kappa1": summary["mean_kappa1"], "mean_kappa0": summary["mean_kappa0"],
        **({"zero_shot_met": zero_summary["met"], "zero_shot_with_target": zero_summary["with_target"],
            "zero_shot_mean_kappa1": zero_summary["mean_kappa1"]} if zero_summary else {}),
    })
    split_counts = {name: int(np.sum(data["split"] == code)) for name, code in inp.SPLIT_CODES.items()}
    inputs = {
        "hash": input_hash(data["repetition"], data["error_type"], data["y"], data["major"], data["split"],
                           config.digest(), sorted(holdout)),
        "n_clips": loaded["n_clips"], "n_items": int(len(data["y"])), "items_per_split": split_counts,
        "dropped": loaded["dropped"], "feature_config": {**asdict(config), "digest": config.digest()},
        "holdout_exercise_ids": sorted(holdout), "agreement_report": loaded["agreement_report"],
    }
    params = {"split_version": loaded["split"].pk, "label_set": loaded["severity_set"].pk,
              "endpoint_label_set": loaded["endpoint_set"].pk, "target": target, "mode": mode,
              "error_types": error_types, "estimator": estimator, "estimator_params": estimator_params,
              "seed": seed, "feature_length": feature_length}
    model = {"kind": ModelRun.Kind.SEVERITY.value, "mode": mode, "target": target,
             "feature_config": asdict(config), "groups": bundle}
    progress.check_cancelled()
    run = model_run_create(
        kind=ModelRun.Kind.SEVERITY, job=job, dataset=dataset, split_version=loaded["split"], model=model,
        estimator=estimator, params=params, seed=seed, inputs=jsonable(inputs), metrics=jsonable(metrics),
        headline=headline, plots=plots, label_set_id=loaded["severity_set"].pk,
        endpoint_label_set_id=loaded["endpoint_set"].pk,
        label_sets={"severity": inp.label_set_info(loaded["severity_set"]),
                    "endpoints": inp.label_set_info(loaded["endpoint_set"])},
        duration_s=timer.seconds,
    )
    return {"run_id": run.pk, "headline": headline, "duration_s": timer.seconds}
