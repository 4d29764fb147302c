"""Every raw FLEX label of a dataset, pulled in bulk and laid out as arrays for the core.

One query per table (``values_list``), then one pass that turns slot keys into positions. The
arrays are padded to the widest action: ``(n_samples, 3, S)`` for stage-1 sets and reviews.
The input hash covers the graph version and every row used, so two label sets with the same hash
were computed from the same labels.
"""
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
from django.db.models import TextField
from django.db.models.functions import Cast

from datasets.models import Clip, Dataset
from kg.core.graph import FlexGraph
from kg.core.two_stage import ANNOTATORS, REVIEWERS
from kg.models import FlexReview, FlexStage1Set, GraphVersion


@dataclass
class FlexInputs:
    graph_version: GraphVersion
    graph: FlexGraph
    clip_ids: np.ndarray  # (n,)
    action: np.ndarray  # (n,) 0-based index into graph.actions, -1 when not an action of the graph
    valid: np.ndarray  # (n, S)
    weights: np.ndarray  # (n, S)
    stage1: np.ndarray  # (n, 3, S)
    n_stage1: np.ndarray  # (n,) sets used (at most 3)
    stage1_users: np.ndarray  # (n, 3), 0 = none
    reviews: np.ndarray  # (n, 3, S)
    n_reviews: np.ndarray  # (n,)
    review_users: np.ndarray  # (n, 3)
    review_approve: np.ndarray  # (n, 3)
    mismatch: np.ndarray  # (n,) a label names a slot this graph version lacks
    input_hash: str = ""
    counts: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return len(self.clip_ids)


def _rows(model, dataset, user_field, extra=()):
    """(clip id, user id, slot keys, *extra) per row, in submission order per clip.

    The key lists come back as JSON text and are decoded in one ``json.loads`` call: decoding
    45,600 small documents one at a time was most of the load time at FLEX size.
    """
    rows = list(
        model.objects.filter(clip__dataset_id=dataset.pk)
        .order_by("clip_id", "created_at", "id")
        .annotate(keys_text=Cast("slot_keys", TextField()))
        .values_list("clip_id", user_field, "keys_text", *extra)
    )
    keys = json.loads("[" + ",".join(row[2] for row in rows) + "]") if rows else []
    return [(row[0], row[1], k, *row[3:]) for row, k in zip(rows, keys)]


def flex_inputs_load(*, dataset: Dataset, graph_version: GraphVersion, graph: FlexGraph) -> FlexInputs:
    """Load and encode every clip, stage-1 set and review of ``dataset`` against ``graph``."""
    clips = list(Clip.objects.filter(dataset=dataset).order_by("id")
                 .values_list("id", "exercise__name", "exercise__slug"))
    stage1_rows = _rows(FlexStage1Set, dataset, "annotator_id")
    review_rows = _rows(FlexReview, dataset, "reviewer_id", extra=("approve",))

    n = len(clips)
    width = max(len(a.slots) for a in graph.actions)
    clip_ids = np.array([c[0] for c in clips], dtype=np.int64)
    position = {cid: i for i, cid in enumerate(clip_ids.tolist())}
    by_exercise: dict[tuple, int] = {}
    action = np.full(n, -1, dtype=np.int64)
    for i, (_, name, slug) in enumerate(clips):
        key = (name, slug)
        if key not in by_exercise:
            spec = graph.action(name) or graph.action(slug)
            by_exercise[key] = -1 if spec is None else spec.index - 1
        action[i] = by_exercise[key]
    slot_counts = np.array([len(a.slots) for a in graph.actions], dtype=np.int64)
    weight_table = np.zeros((len(graph.actions), width), dtype=np.int64)
    for a, spec in enumerate(graph.actions):
        weight_table[a, :len(spec.slots)] = spec.weights()
    known = action >= 0
    valid = np.zeros((n, width), dtype=bool)
    valid[known] = np.arange(width)[None, :] < slot_counts[action[known]][:, None]
    weights = np.where(valid, weight_table[np.maximum(action, 0)], 0)

    mismatch = np.zeros(n, dtype=bool)
    counts = {"clips": n, "clips_not_in_graph": int((~known).sum())}

    def encode(rows, limit, with_approve):
        marks = np.zeros((n, limit, width), dtype=bool)
        count = np.zeros(n, dtype=np.int64)
        users = np.zeros((n, limit), dtype=np.int64)
        approve = np.zeros((n, limit), dtype=bool)
        excess = 0
        for row in rows:
            i = position[row[0]]
            k = count[i]
            if k >= limit:
                excess += 1  # more sets than the rules allow (only possible through imports)
                continue
            count[i] = k + 1
            users[i, k] = row[1]
            if with_approve:
                approve[i, k] = row[3]
            a = action[i]
            if a < 0:
                continue
            names = graph.actions[a].names
            for key in row[2]:
                p = names.get(key)
                if p is None:
                    mismatch[i] = True
                else:
                    marks[i, k, p] = True
        return marks, count, users, approve, excess

    stage1, n_stage1, stage1_users, _, excess1 = encode(stage1_rows, ANNOTATORS, False)
    reviews, n_reviews, review_users, approve, excess2 = encode(review_rows, REVIEWERS, True)
    counts.update({"stage1_sets": len(stage1_rows), "reviews": len(review_rows),
                   "stage1_sets_ignored": excess1, "reviews_ignored": excess2,
                   "samples_graph_mismatch": int(mismatch.sum())})

    digest = hashlib.sha256()
    digest.update(f"graph:{graph_version.content_hash}\n".encode())
    for name, rows in (("clips", clips), ("stage1", stage1_rows), ("reviews", review_rows)):
        digest.update(f"{name}:".encode())
        digest.update(json.dumps(rows, separators=(",", ":"), default=str).encode())
        digest.update(b"\n")
    return FlexInputs(
        graph_version=graph_version, graph=graph, clip_ids=clip_ids, action=action, valid=valid, weights=weights,
        stage1=stage1, n_stage1=n_stage1, stage1_users=stage1_users, reviews=reviews, n_reviews=n_reviews,
        review_users=review_users, review_approve=approve, mismatch=mismatch, input_hash=digest.hexdigest(),
        counts=counts,
    )
