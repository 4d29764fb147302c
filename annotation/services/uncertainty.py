"""How unsure a label set is about each clip: the order of the work queue's *uncertainty first*.

Severity: a clip is as unsure as its least sure (repetition, error type) item, where an item's
uncertainty is the larger of 1 - its Dawid-Skene posterior of the chosen class and
1 - 2 |BMM score - 0.5| (1 at a score of 0.5, 0 at a clean 0 or 1). End points: a clip whose
annotators disagree comes first, then by the largest spread of a matched mark (in seconds).

The ranking is computed once, when the aggregation writes the label set, and stored beside it
(``LabelSetRanking``): ranking a Halo-size set reads every label (63,000 clips' end points,
900,000 severity items), which no request should wait for.
"""
import json

import numpy as np
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from annotation.models import EndPointLabel, LabelSet, LabelSetRanking, SeverityLabel
from datasets.models import Repetition


def clips_by_uncertainty(label_set: LabelSet) -> list[int]:
    """The clip ids of ``label_set``, least sure first (ties by id)."""
    if label_set.kind == LabelSet.Kind.SEVERITY:
        # Read with a plain cursor: a million rows through the ORM cost seconds.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT r.clip_id, s.ds_confidence, s.bmm_score FROM {SeverityLabel._meta.db_table} s"
                           f" JOIN {Repetition._meta.db_table} r ON r.id = s.repetition_id"
                           " WHERE s.label_set_id = %s", [label_set.pk])
            rows = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 3)  # NULL -> nan
        ds = 1.0 - rows[:, 1]
        bmm = 1.0 - 2.0 * np.abs(rows[:, 2] - 0.5)
        item = np.fmax(np.nan_to_num(ds, nan=-1.0), np.nan_to_num(bmm, nan=-1.0))
        clip_ids, inverse = np.unique(rows[:, 0].astype(np.int64), return_inverse=True)
        score = np.full(len(clip_ids), -1.0)
        np.maximum.at(score, inverse, item)
    else:
        # The spreads come as JSON text and are parsed in one call, not one per label.
        labels = list(EndPointLabel.objects.filter(label_set=label_set).values_list(
            "clip_id", "disagree", Cast("spread", TextField()), "clip__fps"))
        spreads = json.loads("[" + ",".join(text or "[]" for _, _, text, _ in labels) + "]")
        clip_ids = np.array([c for c, _, _, _ in labels], dtype=np.int64)
        score = np.array([(1.0 if d else 0.0) + min(max(sp or [0.0]) / max(fps, 1e-6), 1.0)
                          for (_, d, _, fps), sp in zip(labels, spreads)], dtype=np.float64)
    order = np.lexsort((clip_ids, -score))  # most unsure first, ties by id
    return clip_ids[order].tolist()


def label_set_ranking_store(label_set: LabelSet) -> list[int]:
    """Rank ``label_set`` and store the ranking (once: a second call keeps the first)."""
    ranking = clips_by_uncertainty(label_set)
    LabelSetRanking.objects.bulk_create([LabelSetRanking(label_set=label_set, clip_ids=ranking)],
                                        ignore_conflicts=True)
    return ranking


def label_set_ranking(label_set: LabelSet) -> list[int]:
    """The stored ranking of ``label_set``; one written before rankings were stored is ranked
    and stored now."""
    stored = LabelSetRanking.objects.filter(label_set=label_set).values_list("clip_ids", flat=True).first()
    return stored if stored is not None else label_set_ranking_store(label_set)
