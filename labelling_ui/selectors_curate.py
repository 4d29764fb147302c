"""Reads behind the curator pages: agreement reports, label sets and their comparison,
disagreeing clips, and the geometry of the small SVG charts the templates draw.

Only reads; every number comes from rows the aggregation platform wrote (label sets and
agreement reports are immutable), nothing is recomputed here except the comparison of two sets.
"""
from dataclasses import dataclass

import numpy as np
from django.contrib.auth import get_user_model

from annotation.models import (
    AgreementReport, AnnotatorAgreement, EndPointLabel, ErrorTypeAgreement, LabelSet, SeverityLabel,
)
from datasets.models import Clip, Dataset, ErrorType

SEVERITY, ENDPOINTS = LabelSet.Kind.SEVERITY, LabelSet.Kind.ENDPOINTS


def label_set_list(*, dataset: Dataset):
    return LabelSet.objects.filter(dataset=dataset).select_related("created_by", "job").order_by("kind", "-number")


def label_set_current(*, dataset: Dataset, kind: str) -> LabelSet | None:
    return LabelSet.objects.filter(dataset=dataset, kind=kind, is_current=True).first()


def agreement_report_pick(*, dataset: Dataset, report_id=None) -> AgreementReport | None:
    """The report asked for, else the one of the current severity label set, else the newest."""
    reports = AgreementReport.objects.filter(dataset=dataset).select_related("label_set")
    if report_id:
        return reports.filter(pk=report_id).first()
    current = reports.filter(label_set__is_current=True, label_set__kind=SEVERITY).first()
    return current or reports.order_by("-created_at", "-id").first()


def error_type_rows(*, report: AgreementReport) -> list[dict]:
    rows = list(ErrorTypeAgreement.objects.filter(report=report).order_by("error_type_id"))
    types = {e.pk: e for e in ErrorType.objects.filter(pk__in=[r.error_type_id for r in rows]).select_related("exercise")}
    out = []
    for r in rows:
        et = types.get(r.error_type_id)
        out.append({
            "error_type_id": r.error_type_id, "code": et.code if et else str(r.error_type_id),
            "exercise": et.exercise.name if et else "", "n_items": r.n_items, "n_votes": r.n_votes,
            "n_annotators": r.n_annotators, "kappa0": r.kappa0, "kappa1": r.kappa1, "alpha": r.alpha,
            "target_kappa1": r.target_kappa1, "reference_kappa1": r.reference_kappa1,
            "majority_counts": r.majority_counts,
            # Annotators "reach" the Halo bar when their own Kappa1 is at least the catalogue's.
            "meets_reference": None if r.kappa1 is None or r.reference_kappa1 is None
            else r.kappa1 >= r.reference_kappa1,
        })
    return out


def annotator_rows(*, report: AgreementReport) -> list[dict]:
    rows = list(AnnotatorAgreement.objects.filter(report=report).order_by("annotator_id"))
    names = dict(get_user_model().objects.filter(pk__in=[r.annotator_id for r in rows]).values_list("pk", "username"))
    out = []
    for r in rows:
        confusion = np.asarray(r.confusion, dtype=float) if r.confusion else None
        rates = None
        if confusion is not None and confusion.shape == (4, 4):
            totals = confusion.sum(axis=1, keepdims=True)
            rates = np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)
        out.append({
            "annotator_id": r.annotator_id, "username": names.get(r.annotator_id, str(r.annotator_id)),
            "n_votes": r.n_votes, "n_items_scored": r.n_items_scored, "kappa0": r.kappa0, "kappa1": r.kappa1,
            "ds_accuracy": r.ds_accuracy,
            "confusion": None if rates is None else [
                [{"rate": float(v), "count": float(c), "shade": int(round(255 - 170 * v))}
                 for v, c in zip(rate_row, count_row)]
                for rate_row, count_row in zip(rates, confusion)],
        })
    return out


# ---------------------------------------------------------------- charts (geometry only)

@dataclass
class Bar:
    label: str
    value: float | None
    y: float
    width: float
    target: float | None
    reference: float | None


def bar_chart(rows: list[dict], *, value: str, target: str | None = None, reference: str | None = None,
              label: str = "code", width: int = 640, bar_height: int = 16, left: int = 230) -> dict:
    """Horizontal bars on a 0..1 axis (Kappa values), with optional target and reference ticks."""
    plot_w = width - left - 50
    bars = []
    for i, row in enumerate(rows):
        v = row.get(value)
        x = max(0.0, min(1.0, v)) if v is not None else 0.0
        bars.append(Bar(label=str(row.get(label, "")), value=v, y=10 + i * (bar_height + 6), width=x * plot_w,
                        target=None if target is None or row.get(target) is None
                        else left + max(0.0, min(1.0, row[target])) * plot_w,
                        reference=None if reference is None or row.get(reference) is None
                        else left + max(0.0, min(1.0, row[reference])) * plot_w))
    height = 30 + len(rows) * (bar_height + 6)
    ticks = [{"x": left + f * plot_w, "label": f"{f:.1f}"} for f in (0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    return {"bars": bars, "width": width, "height": height, "left": left, "plot_w": plot_w,
            "bar_height": bar_height, "ticks": ticks, "axis_y": height - 14}


# ---------------------------------------------------------------- comparing two label sets

def label_set_compare(*, a: LabelSet, b: LabelSet) -> dict:
    """What changed between two label sets of one kind and dataset, item by item."""
    if a.kind != b.kind or a.dataset_id != b.dataset_id:
        return {"error": "Compare two label sets of the same dataset and kind."}
    if a.kind == SEVERITY:
        return _compare_severity(a, b)
    return _compare_endpoints(a, b)


def _severity_frame(label_set):
    rows = np.array(list(SeverityLabel.objects.filter(label_set=label_set).values_list(
        "repetition_id", "error_type_id", "majority", "mean", "bmm_score")), dtype=np.float64).reshape(-1, 5)
    return rows


def _compare_severity(a, b) -> dict:
    ra, rb = _severity_frame(a), _severity_frame(b)
    key_a = {(int(r[0]), int(r[1])): i for i, r in enumerate(ra)}
    pairs = [(key_a[(int(r[0]), int(r[1]))], j) for j, r in enumerate(rb) if (int(r[0]), int(r[1])) in key_a]
    ia = np.array([p[0] for p in pairs], dtype=int)
    ib = np.array([p[1] for p in pairs], dtype=int)
    same = ra[ia, 2] == rb[ib, 2] if len(pairs) else np.array([], dtype=bool)
    bmm_a, bmm_b = (ra[ia, 4], rb[ib, 4]) if len(pairs) else (np.array([]), np.array([]))
    both = ~np.isnan(bmm_a) & ~np.isnan(bmm_b)
    per_type: dict[int, list] = {}
    for k, (i, j) in enumerate(pairs):
        per_type.setdefault(int(ra[i, 1]), []).append(bool(same[k]))
    codes = dict(ErrorType.objects.filter(pk__in=list(per_type)).values_list("pk", "code"))
    changed_types = sorted(
        ({"code": codes.get(t, str(t)), "items": len(v), "changed": len(v) - sum(v)} for t, v in per_type.items()),
        key=lambda r: (-r["changed"], r["code"]))
    return {
        "kind": SEVERITY, "items_a": len(ra), "items_b": len(rb), "common": len(pairs),
        "majority_equal": int(same.sum()), "majority_equal_share": float(same.mean()) if len(pairs) else None,
        "mean_abs_diff_of_mean": float(np.abs(ra[ia, 3] - rb[ib, 3]).mean()) if len(pairs) else None,
        "mean_abs_diff_of_bmm": float(np.abs(bmm_a[both] - bmm_b[both]).mean()) if both.any() else None,
        "error_types": changed_types[:30],
        "params_a": a.params, "params_b": b.params, "method_a": a.method, "method_b": b.method,
    }


def _compare_endpoints(a, b) -> dict:
    la = {r.clip_id: r for r in EndPointLabel.objects.filter(label_set=a)}
    lb = {r.clip_id: r for r in EndPointLabel.objects.filter(label_set=b)}
    common = sorted(set(la) & set(lb))
    same_count = [c for c in common if la[c].count == lb[c].count]
    diffs = [abs(x - y) for c in same_count for x, y in zip(la[c].ends, lb[c].ends)]
    flipped = [c for c in common if la[c].disagree != lb[c].disagree]
    return {
        "kind": ENDPOINTS, "items_a": len(la), "items_b": len(lb), "common": len(common),
        "count_equal": len(same_count), "count_equal_share": len(same_count) / len(common) if common else None,
        "mean_abs_end_shift": float(np.mean(diffs)) if diffs else None,
        "disagree_flipped": len(flipped), "disagree_a": sum(1 for c in common if la[c].disagree),
        "disagree_b": sum(1 for c in common if lb[c].disagree),
        "params_a": a.params, "params_b": b.params, "method_a": a.method, "method_b": b.method,
    }


# ---------------------------------------------------------------- disagreeing clips

def disagreeing_clips(*, dataset: Dataset, kind: str, limit: int = 500) -> tuple[LabelSet | None, list[dict]]:
    """Clips the current label set is least sure of.

    End points: clips whose annotators disagree (count mismatch or spread beyond tolerance).
    Severity: clips with an item whose Dawid-Skene posterior is below 0.6 or whose BMM score
    lies within 0.15 of 0.5, least sure first.
    """
    label_set = label_set_current(dataset=dataset, kind=kind)
    if label_set is None:
        return None, []
    if kind == ENDPOINTS:
        labels = (EndPointLabel.objects.filter(label_set=label_set, disagree=True).order_by("clip_id")[:limit])
        clips = {c.pk: c for c in Clip.objects.filter(pk__in=[label.clip_id for label in labels])}
        return label_set, [{"clip_id": label.clip_id, "external_id": clips[label.clip_id].external_id
                            if label.clip_id in clips else "", "reason": label.reason, "count": label.count,
                            "n_annotators": label.n_annotators,
                            "max_spread": max(label.spread) if label.spread else None} for label in labels]
    rows = np.array(list(SeverityLabel.objects.filter(label_set=label_set).values_list(
        "repetition__clip_id", "ds_confidence", "bmm_score")), dtype=np.float64).reshape(-1, 3)
    ds_unsure = np.nan_to_num(rows[:, 1], nan=1.0) < 0.6
    bmm_unsure = np.abs(np.nan_to_num(rows[:, 2], nan=0.0) - 0.5) < 0.15
    unsure = rows[ds_unsure | bmm_unsure]
    if not len(unsure):
        return label_set, []
    clip_ids, counts = np.unique(unsure[:, 0].astype(np.int64), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:limit]
    clips = {c.pk: c for c in Clip.objects.filter(pk__in=clip_ids[order].tolist())}
    return label_set, [{"clip_id": int(clip_ids[i]), "external_id": clips[int(clip_ids[i])].external_id,
                        "reason": f"{int(counts[i])} unsure item(s)", "count": None, "n_annotators": None,
                        "max_spread": None} for i in order if int(clip_ids[i]) in clips]
