"""End-point aggregation: the consensus repetition ends of every clip, as a label set.

Halo Trainer (seed 000, Sec. 3 and 6.1): three annotators mark the last frame of every
repetition, the ground truth is their average, and clips where they disagree are left out of
evaluation. The numbers are ``annotation.core.consensus.batch_endpoint_consensus``; this module
reads the marks in bulk and writes one ``EndPointLabel`` per clip of the dataset (clips nobody
marked get ``reason="no_marks"``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time

import numpy as np
from django.db.models import Count
from django.utils import timezone

from annotation.core.consensus import DEFAULT_TOLERANCE_S, batch_endpoint_consensus
from annotation.models import Assignment, LabelSet
from annotation.services.aggregation.inputs import end_point_marks_load
from annotation.services.aggregation.label_sets import end_point_label_set_write, label_set_for_job
from annotation.services.aggregation.severity import NullProgress
from config.exceptions import DomainError
from datasets.models import Clip, Dataset

logger = logging.getLogger(__name__)


def _json_lists(values: np.ndarray, offsets: np.ndarray, decimals: int) -> list[str]:
    """One JSON list per clip from CSR arrays, rounded (a mean of three marks is k/3 of a frame)."""
    rounded = np.round(values, decimals).tolist()
    dumps = json.dumps
    return [dumps(rounded[a:b]) for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


def _digest(clip_ids, fps, n_annotators, mark_clip, mark_annotator, mark_frame) -> str:
    h = hashlib.sha256()
    for array, dtype in ((clip_ids, "<i8"), (fps, "<f8"), (n_annotators, "<i8"), (mark_clip, "<i8"),
                         (mark_annotator, "<i8"), (mark_frame, "<i8")):
        h.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return h.hexdigest()


def endpoint_aggregate(*, dataset: Dataset, tolerance_s: float = DEFAULT_TOLERANCE_S, job=None, user=None,
                       progress=None, set_current: bool = False) -> tuple[LabelSet, dict]:
    """Aggregate every end-point mark of ``dataset`` into a new end-point label set.

    The number of annotators of a clip is the number who submitted an end-point assignment for it
    (an annotator who submitted "no repetitions" has no mark rows but still counts, making the
    clip a count mismatch), or who marked it, whichever is larger.
    """
    progress = progress or NullProgress()
    existing = label_set_for_job(job=job)
    if existing is not None:
        return existing, {"reused": True}
    started_at, t0 = timezone.now(), time.perf_counter()
    timings = {}
    progress.update(0.02, "loading end-point marks")
    clips = np.array(Clip.objects.filter(dataset=dataset).order_by("id").values_list("id", "fps"), dtype=np.float64)
    if clips.size == 0:
        raise DomainError(f"Dataset {dataset.name!r} has no clips.", code="no_clips")
    clip_ids, fps = clips[:, 0].astype(np.int64), clips[:, 1]
    mark_clip, mark_annotator, mark_frame = end_point_marks_load(dataset_id=dataset.pk)
    submitted = dict(Assignment.objects.filter(clip__dataset=dataset, kind=Assignment.Kind.ENDPOINTS,
                                               state=Assignment.State.SUBMITTED)
                     .values("clip_id").annotate(n=Count("id")).values_list("clip_id", "n"))
    timings["load_s"] = time.perf_counter() - t0
    progress.update(0.3, f"{mark_clip.size:,} marks of {clip_ids.size:,} clips loaded")

    t = time.perf_counter()
    clip_index = np.searchsorted(clip_ids, mark_clip)
    pairs = np.unique(clip_index * (int(mark_annotator.max(initial=0)) + 1) + mark_annotator)
    markers = np.bincount(pairs // (int(mark_annotator.max(initial=0)) + 1), minlength=clip_ids.size)
    n_annotators = np.maximum(markers, np.array([submitted.get(int(c), 0) for c in clip_ids], dtype=np.int64))
    input_hash = _digest(clip_ids, fps, n_annotators, mark_clip, mark_annotator, mark_frame)
    consensus = batch_endpoint_consensus(clip_index, mark_annotator, mark_frame, fps, tolerance_s=tolerance_s,
                                         n_clips=clip_ids.size, n_annotators=n_annotators)
    timings["compute_s"] = time.perf_counter() - t
    progress.update(0.7, "consensus computed")

    reasons, counts = np.unique(consensus.reason, return_counts=True)
    summary = {
        "n_clips": int(clip_ids.size), "n_marks": int(mark_clip.size),
        "n_disagree": int(consensus.disagree.sum()),
        "share_disagree": float(consensus.disagree.mean()),
        "reasons": {str(r or "agree"): int(c) for r, c in zip(reasons, counts)},
        "repetitions": int(consensus.count.sum()),
    }
    t = time.perf_counter()
    columns = {
        "clip_id": clip_ids, "n_annotators": n_annotators.astype(np.int64), "count": consensus.count.astype(np.int64),
        "ends": _json_lists(consensus.ends, consensus.offsets, 3),
        "spread": _json_lists(consensus.spread, consensus.offsets, 3),
        "disagree": consensus.disagree, "reason": [str(r) for r in consensus.reason],
    }
    label_set = end_point_label_set_write(
        dataset_id=dataset.pk, columns=columns, n_rows=int(clip_ids.size), params={"tolerance_s": tolerance_s},
        input_count=int(mark_clip.size), input_hash=input_hash, summary=summary,
        timings={k: round(v, 3) for k, v in timings.items()}, job=job, user=user, started_at=started_at,
        finished_at=timezone.now(), set_current=set_current,
    )
    timings["write_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    facts = {"input_count": int(mark_clip.size), "input_hash": input_hash, **summary,
             "timings": {k: round(v, 3) for k, v in timings.items()}}
    logger.info("aggregation.endpoints_done", extra={"dataset_id": dataset.pk, "clips": int(clip_ids.size)})
    return label_set, facts
