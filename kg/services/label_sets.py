"""FLEX label sets: proposal, final slots and score for every sample of a dataset, versioned.

``flex_label_set_compute`` is what the ``score_flex`` job runs. It reads every raw label in bulk,
computes outside any transaction, and writes one immutable label set with its per-sample rows in
one short transaction at the end (COPY on PostgreSQL). It is deterministic: the same raw labels
and graph give the same rows and the same input hash. Run twice for one job (a redelivered
task), it finds the label set that job already wrote and returns it.
"""
import json
import logging
import time

import numpy as np
from django.db import transaction
from django.db.models import Max

from config.exceptions import ConflictError
from config.version import code_version
from datasets.bulk import bulk_insert
from datasets.models import Dataset
from kg.core.scoring import score_matrix
from kg.core.two_stage import Status, settle
from kg.models import FlexLabelSet, FlexSampleLabel, GraphVersion
from kg.services.graph import compiled_graph
from kg.services.inputs import flex_inputs_load

logger = logging.getLogger(__name__)

_STATUS_TEXT = {
    Status.STAGE1_OPEN: FlexSampleLabel.Status.STAGE1_OPEN.value,
    Status.STAGE2_OPEN: FlexSampleLabel.Status.STAGE2_OPEN.value,
    Status.TIED: FlexSampleLabel.Status.TIED.value,
    Status.FINAL: FlexSampleLabel.Status.FINAL.value,
}


def _noop(fraction, message=""):
    return None


def _key_lists(keys_by_action, action, marks, rows):
    """JSON text of the marked slot keys of each row in ``rows`` (None elsewhere).

    One ``np.nonzero`` over all rows, then string joins: the same text ``json.dumps`` writes,
    about eight times faster than a ``flatnonzero`` per row at FLEX size.
    """
    out: list[str | None] = [None] * len(action)
    if len(rows) == 0:
        return out
    width = marks.shape[1]
    quoted = np.array([[json.dumps(k) for k in keys] + [""] * (width - len(keys)) for keys in keys_by_action],
                      dtype=object)
    r, c = np.nonzero(marks[rows])
    texts = quoted[action[rows][r], c].tolist()
    bounds = np.searchsorted(r, np.arange(len(rows) + 1)).tolist()
    for j, i in enumerate(rows.tolist()):
        out[i] = "[" + ", ".join(texts[bounds[j]:bounds[j + 1]]) + "]"
    return out


def _summary(scores, action, graph) -> dict:
    if scores.size == 0:
        return {"final_samples": 0}
    per_action = {}
    for a in np.unique(action):
        s = scores[action == a]
        spec = graph.actions[a]
        per_action[spec.code] = {"action": spec.name, "n": int(s.size), "mean": round(float(s.mean()), 2),
                                 "min": round(float(s.min()), 2), "max": round(float(s.max()), 2)}
    return {"final_samples": int(scores.size), "mean": round(float(scores.mean()), 2),
            "std": round(float(scores.std()), 2), "min": round(float(scores.min()), 2),
            "max": round(float(scores.max()), 2), "per_action": per_action}


def flex_label_set_compute(*, dataset: Dataset, graph_version: GraphVersion | None = None,
                           make_current: bool = True, user=None, job=None, progress=None) -> FlexLabelSet:
    """Compute and store a new FLEX label set for ``dataset``.

    Parameters
    ----------
    graph_version : GraphVersion, optional
        The graph to score with (default: the current one). The label set names it.
    make_current : bool
        Make the new label set the dataset's current one. The first label set of a dataset
        always becomes current.
    job : tasks.models.Job, optional
        The job running this; a second run for the same job returns the first run's label set.
    progress : callable(fraction, message), optional
    """
    report = progress or _noop
    if job is not None:
        done = FlexLabelSet.objects.filter(job=job).first()
        if done is not None:
            report(1.0, f"label set v{done.number} already written by this job")
            return done
    if graph_version is None:
        from kg.selectors import graph_version_current

        graph_version = graph_version_current()
    graph = compiled_graph(graph_version)
    started = time.perf_counter()
    inputs = flex_inputs_load(dataset=dataset, graph_version=graph_version, graph=graph)
    report(0.3, f"loaded {inputs.counts['stage1_sets']} stage-1 sets and {inputs.counts['reviews']} reviews")

    result = settle(inputs.stage1, inputs.n_stage1, inputs.reviews, inputs.n_reviews, inputs.valid)
    penalty, total, score = score_matrix(inputs.weights, result.final, inputs.valid)
    status = np.array([_STATUS_TEXT[s] for s in result.status.tolist()], dtype=object)
    status[inputs.mismatch] = FlexSampleLabel.Status.GRAPH_MISMATCH.value
    status[inputs.action < 0] = FlexSampleLabel.Status.NOT_IN_GRAPH.value
    final = status == FlexSampleLabel.Status.FINAL.value
    waiting = [FlexSampleLabel.Status.STAGE2_OPEN.value, FlexSampleLabel.Status.TIED.value]
    has_proposal = final | np.isin(status, waiting)
    tied = status == FlexSampleLabel.Status.TIED.value
    report(0.5, "settled")

    keys_by_action = [spec.keys for spec in graph.actions]
    action = inputs.action
    rows = np.arange(inputs.n_samples)
    proposal_json = _key_lists(keys_by_action, action, result.proposal, rows[has_proposal])
    final_json = _key_lists(keys_by_action, action, result.final, rows[final])
    tied_json = _key_lists(keys_by_action, action, result.tied, rows[tied])
    in_graph = action >= 0
    columns = {
        "clip_id": inputs.clip_ids,
        "action_index": [int(a) + 1 if a >= 0 else None for a in action.tolist()],
        "status": status.tolist(),
        "n_stage1": inputs.n_stage1,
        "n_reviews": inputs.n_reviews,
        "proposal": proposal_json,
        "final": final_json,
        "tied": tied_json,
        "total": [int(t) if ok else None for t, ok in zip(total.tolist(), in_graph.tolist())],
        "penalty": [int(p) if ok else None for p, ok in zip(penalty.tolist(), final.tolist())],
        "score": [float(s) if ok else None for s, ok in zip(score.tolist(), final.tolist())],
    }
    status_counts = {s.value: int((status == s.value).sum()) for s in FlexSampleLabel.Status}
    counts = dict(inputs.counts, samples=inputs.n_samples, **{f"status_{k}": v for k, v in status_counts.items()})
    summary = _summary(score[final], action[final], graph)
    params = {"graph_version": graph_version.number, "make_current": bool(make_current),
              "rule": "stage1 majority of 3; final = per-slot majority of 3 reviews (2 agreeing reviews settle a slot)"}
    report(0.7, "writing")

    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()  # one writer per dataset at a time
        if job is not None:
            done = FlexLabelSet.objects.filter(job=job).first()
            if done is not None:
                return done
        number = (FlexLabelSet.objects.filter(dataset=dataset).aggregate(m=Max("number"))["m"] or 0) + 1
        first = not FlexLabelSet.objects.filter(dataset=dataset).exists()
        label_set = FlexLabelSet.objects.create(
            dataset=dataset, number=number, graph_version=graph_version, params=params,
            code_version=code_version(), counts=counts, summary=summary, input_hash=inputs.input_hash,
            job=job, created_by=user if user is not None and user.pk else None,
        )
        bulk_insert(FlexSampleLabel, dict(columns, label_set_id=label_set.pk), n_rows=inputs.n_samples)
        if make_current or first:
            _set_current(label_set)
    seconds = time.perf_counter() - started
    logger.info("kg.label_set_written", extra={"dataset": dataset.pk, "label_set": label_set.pk,
                                                "samples": inputs.n_samples, "seconds": round(seconds, 3)})
    report(1.0, f"label set v{label_set.number}: {status_counts['final']} final of {inputs.n_samples}")
    return label_set


def _set_current(label_set: FlexLabelSet) -> None:
    """Move the dataset's current flag onto ``label_set``; the caller holds the dataset lock.

    Row saves, not ``queryset.update()``: each flag that moves is one audit entry
    (``{"is_current": [old, new]}``, written by ``audit.signals`` in this transaction), as for the
    annotation app's label sets. The old flag is cleared first: one current set per dataset.
    """
    for old in FlexLabelSet.objects.select_for_update().filter(
            dataset_id=label_set.dataset_id, is_current=True).exclude(pk=label_set.pk):
        old.is_current = False
        old.save(update_fields=["is_current"])
    if not label_set.is_current:
        label_set.is_current = True
        label_set.save(update_fields=["is_current"])


def flex_label_set_make_current(*, label_set: FlexLabelSet) -> FlexLabelSet:
    """Make this label set its dataset's current one (a curator action). Idempotent.

    Audited like every current-flag move: one entry per label set whose flag changed, with the
    request's (or job's) actor and source; a set that is already current writes nothing.
    """
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=label_set.dataset_id).first()
        fresh = FlexLabelSet.objects.select_for_update().filter(pk=label_set.pk).first()
        if fresh is None:
            raise ConflictError("The label set was deleted.", code="label_set_gone")
        _set_current(fresh)
    label_set.is_current = True
    return label_set


def flex_label_set_result(label_set: FlexLabelSet) -> dict:
    """The job result: what a curator needs to judge the run at a glance."""
    return {"label_set_id": label_set.pk, "number": label_set.number, "dataset": label_set.dataset_id,
            "graph_version": label_set.graph_version.number, "is_current": label_set.is_current,
            "input_hash": label_set.input_hash, "counts": label_set.counts, "summary": {
                k: v for k, v in label_set.summary.items() if k != "per_action"}}
