"""Everything an export writes, loaded once as column arrays.

Each format module turns an :class:`ExportData` into files; none of them queries the database.
Tables are numpy columns in a fixed order (clips by id, repetitions by (clip, index), labels by
(repetition, error code), segments and feedback by clip then time), which is what makes two
exports of the same split version and label set byte-identical.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annotation.core.consensus import batch_endpoint_consensus
from datasets import selectors_splits as sel
from datasets.exports.labels import LabelSource, label_set_endpoint_columns, label_set_severity_columns
from datasets.models import SplitVersion

SPLIT_NAMES = ("train", "val", "test")
N_CLASSES = 4
#: Columns of a severity label set exported beside severity_score / severity_class.
LABEL_SET_EXTRA = ("mean", "majority", "bmm_score", "ds_class", "ds_confidence")


@dataclass
class ExportData:
    split_version: SplitVersion
    label_source: LabelSource
    clips: dict            # id, external_id, split, exercise_slug, exercise_name, participant, skill, fps, ...
    reps: dict             # id, clip_row, index, start_frame, end_frame
    labels: dict           # rep_row, error_code, generic_name, score, cls, n_votes, hist (n, 4)
    segments: dict         # clip_row, error_code, annotator, start_frame, end_frame
    feedback: dict         # clip_row, frame, text, annotator
    error_codes: list      # every error code of the dataset, sorted
    exercises: dict        # exercise id -> Exercise
    notes: list = field(default_factory=list)

    @property
    def dataset(self):
        return self.split_version.dataset

    @property
    def n_clips(self) -> int:
        return int(self.clips["id"].shape[0])

    def clip_error_presence(self) -> list[tuple[str, ...]]:
        """Per clip, the sorted error codes it shows: a repetition with class >= 1, or a segment."""
        present: list[set] = [set() for _ in range(self.n_clips)]
        clip_of_label = self.reps["clip_row"][self.labels["rep_row"]]
        hit = self.labels["cls"] >= 1
        for row, code in zip(clip_of_label[hit].tolist(), self.labels["error_code"][hit].tolist()):
            present[row].add(code)
        for row, code in zip(self.segments["clip_row"].tolist(), self.segments["error_code"].tolist()):
            present[row].add(code)
        return [tuple(sorted(p)) for p in present]

    def clip_class_keys(self) -> np.ndarray:
        """Balancing class of each clip: exercise plus its error combination (UMAP25)."""
        presence = self.clip_error_presence()
        return np.array([f"{ex}|{'+'.join(p) or 'none'}" for ex, p in zip(self.clips["exercise_slug"], presence)],
                        dtype=object)

    def clip_max_class(self) -> np.ndarray:
        """Worst severity class any repetition of the clip reached (-1 when unlabelled)."""
        out = np.full(self.n_clips, -1, dtype=np.int64)
        clip_of_label = self.reps["clip_row"][self.labels["rep_row"]]
        np.maximum.at(out, clip_of_label, self.labels["cls"])
        return out


def _pseudonyms(annotator_ids: np.ndarray, everyone: np.ndarray) -> np.ndarray:
    """Stable pseudonyms ``A001``... by rank of the user id among ``everyone`` (all annotators of
    the export's segments and feedback): exports never carry user ids or names."""
    unique = np.unique(everyone)
    if unique.size == 0 or annotator_ids.size == 0:
        return np.zeros(0, dtype=object)
    names = np.array([f"A{r + 1:03d}" for r in range(unique.shape[0])], dtype=object)
    return names[np.searchsorted(unique, annotator_ids)]


def export_data_load(*, split_version: SplitVersion, label_source: LabelSource, progress=None) -> ExportData:
    """Read a split version's clips with their labels. Only reads."""
    report = progress or (lambda fraction, message="": None)
    dataset = split_version.dataset
    # The biggest read (vote histograms) starts at once on its own connection and overlaps with
    # the rest. (Prefetching the marks too measured no faster on two shared cores and raised the
    # peak memory by ~200 MB.)
    histogram = marks = None
    if not label_source.severity_id:
        histogram = sel.Prefetch(sel.severity_histogram_columns, dataset=dataset, split_version=split_version)
    clips = sel.clip_columns(dataset=dataset, split_version=split_version)
    member_ids, member_split = sel.split_membership_arrays(split_version=split_version)
    clips["split"] = member_split[np.searchsorted(member_ids, clips["id"])].astype(np.int8)
    exercises = sel.exercise_map(dataset=dataset)
    error_types = sel.error_type_map(dataset=dataset)
    participants = sel.participant_columns(dataset=dataset)
    ex_ids = clips["exercise_id"]
    clips["exercise_slug"] = np.array([exercises[e].slug for e in ex_ids.tolist()], dtype=object)
    clips["exercise_name"] = np.array([exercises[e].name for e in ex_ids.tolist()], dtype=object)
    p_row = np.searchsorted(participants["id"], clips["participant_id"])
    has_p = clips["participant_id"] >= 0
    p_row = np.where(has_p, np.minimum(p_row, max(len(participants["id"]) - 1, 0)), 0)
    clips["participant"] = np.where(has_p, participants["external_id"][p_row] if len(participants["id"]) else "",
                                    "").astype(object)
    clips["skill"] = np.where(has_p, participants["skill_level"][p_row] if len(participants["id"]) else -1, -1)
    report(0.1, "clips read")

    reps = sel.repetition_columns(dataset=dataset, split_version=split_version)
    reps["clip_row"] = np.searchsorted(clips["id"], reps["clip_id"])
    _load_bounds(clips, reps, dataset, split_version, label_source, marks)
    report(0.35, "repetition bounds")

    codes_sorted = sorted({et.code for et in error_types.values()})
    labels = _load_labels(reps, error_types, label_source, histogram, dataset)
    report(0.7, "labels")

    et_code = {pk: et.code for pk, et in error_types.items()}
    seg = sel.error_segment_columns(dataset=dataset, split_version=split_version)
    fb = sel.feedback_note_columns(dataset=dataset, split_version=split_version)
    everyone = np.concatenate([seg["annotator_id"], fb["annotator_id"]])
    segments = {
        "clip_row": np.searchsorted(clips["id"], seg["clip_id"]),
        "error_code": np.array([et_code[e] for e in seg["error_type_id"].tolist()], dtype=object),
        "annotator": _pseudonyms(seg["annotator_id"], everyone),
        "start_frame": seg["start_frame"], "end_frame": seg["end_frame"],
    }
    feedback = {"clip_row": np.searchsorted(clips["id"], fb["clip_id"]), "frame": fb["frame"],
                "text": fb["text"], "annotator": _pseudonyms(fb["annotator_id"], everyone)}
    report(0.8, "segments and feedback")
    return ExportData(split_version=split_version, label_source=label_source, clips=clips, reps=reps,
                      labels=labels, segments=segments, feedback=feedback, error_codes=codes_sorted,
                      exercises=exercises)


def _load_bounds(clips, reps, dataset, split_version, label_source, pending_marks) -> None:
    """Fill ``reps["start_frame"]``/``["end_frame"]`` (NaN when unknown) and the clip agreement flags.

    Precedence: the label set's end points; imported spans (RepetitionSpan, mean over sources);
    the consensus of raw end-point marks, where repetition k ends at the k-th consensus end and
    starts where repetition k-1 ended (frame 0 for the first): Halo marks only ends.
    """
    n_reps = reps["id"].shape[0]
    start = np.full(n_reps, np.nan)
    end = np.full(n_reps, np.nan)
    agree = np.ones(clips["id"].shape[0], dtype=bool)
    reason = np.full(clips["id"].shape[0], "", dtype=object)
    done = np.zeros(n_reps, dtype=bool)

    ep = label_set_endpoint_columns(label_source, clip_ids=clips["id"])
    if ep:
        # The label set's consensus ends; repetition k starts where k-1 ended (frame 0 first).
        clip_ids = clips["id"].tolist()
        for row in np.flatnonzero(np.isin(clips["id"], list(ep))).tolist():
            ends, disagree, why = ep[clip_ids[row]]
            agree[row], reason[row] = not disagree, why
        for k, (clip_row, index) in enumerate(zip(reps["clip_row"].tolist(), reps["index"].tolist())):
            entry = ep.get(clip_ids[clip_row])
            if entry is None:
                continue
            ends = entry[0]
            done[k] = True
            if index < len(ends):
                end[k] = float(ends[index])
            if index <= len(ends):
                start[k] = float(ends[index - 1]) if index > 0 else 0.0

    spans = sel.repetition_span_columns(dataset=dataset, split_version=split_version)
    if spans["repetition_id"].size:
        rows = sel.positions(reps["id"], spans["repetition_id"])
        n = np.bincount(rows, minlength=n_reps)
        s_sum = np.bincount(rows, weights=spans["start_frame"], minlength=n_reps)
        e_sum = np.bincount(rows, weights=spans["end_frame"], minlength=n_reps)
        use = (n > 0) & ~done
        start[use] = s_sum[use] / n[use]
        end[use] = e_sum[use] / n[use]
        done |= use

    clip_done = np.zeros(clips["id"].shape[0], dtype=bool)
    np.logical_or.at(clip_done, reps["clip_row"], done)
    # Marks only for clips the label set and the imported spans left without bounds.
    marks = {"clip_id": np.zeros(0, np.int64)}
    if not clip_done.all():
        marks = pending_marks.result() if pending_marks is not None else \
            sel.end_point_mark_columns(dataset=dataset, split_version=split_version)
    if marks["clip_id"].size:
        clip_row = np.searchsorted(clips["id"], marks["clip_id"])
        keep = ~clip_done[clip_row]
        cons = batch_endpoint_consensus(clip_row[keep], marks["annotator_id"][keep], marks["frame"][keep],
                                        clips["fps"], n_clips=clips["id"].shape[0])
        has_marks = cons.reason != "no_marks"
        agree = np.where(has_marks, ~cons.disagree, agree)
        reason = np.where(has_marks, cons.reason.astype(object), reason)
        todo = ~done & has_marks[reps["clip_row"]]
        k = reps["index"].astype(np.int64)
        cnt = cons.count[reps["clip_row"]]
        base = cons.offsets[reps["clip_row"]]
        has_end = todo & (k < cnt)
        end[has_end] = cons.ends[(base + k)[has_end]]
        has_start = todo & (k <= cnt)
        last = max(cons.ends.shape[0] - 1, 0)
        prev_end = cons.ends[np.clip(base + k - 1, 0, last)] if cons.ends.size else np.zeros(n_reps)
        prev = np.where(k > 0, prev_end, 0.0)
        start[has_start] = prev[has_start]
    reps["start_frame"] = start
    reps["end_frame"] = end
    clips["endpoints_agree"] = agree
    clips["endpoints_reason"] = reason


def _load_labels(reps, error_types, label_source, histogram, dataset) -> dict:
    # Error types ranked by code: labels of a repetition come out in code order.
    et_ids = np.array(sorted(error_types, key=lambda pk: error_types[pk].code), dtype=np.int64)
    rank = np.full(int(et_ids.max()) + 1 if et_ids.size else 1, -1, dtype=np.int64)
    rank[et_ids] = np.arange(et_ids.shape[0])
    def rep_rows(ids):
        return sel.positions(reps["id"], ids)

    rows = label_set_severity_columns(label_source, rep_ids=reps["id"])
    if rows is not None:
        rep_row, local = rep_rows(rows["repetition_id"]), rank[rows["error_type_id"]]
        order = np.lexsort((local, rep_row))
        table = _label_table(rep_row[order], local[order], et_ids, error_types, rows["score"][order],
                             rows["cls"][order], rows["n_votes"][order], None)
        table["extra"] = {name: rows[name][order] for name in LABEL_SET_EXTRA}
        return table

    hist = histogram.result() if histogram is not None else sel.severity_histogram_columns(dataset=dataset)
    counts = np.stack([hist[f"h{c}"] for c in range(N_CLASSES)], axis=1).reshape(-1, N_CLASSES)
    rep_row, local = rep_rows(hist["repetition_id"]), rank[hist["error_type_id"]]
    order = np.lexsort((local, rep_row))
    counts = counts[order]
    n = counts.sum(1)
    # Mean vote and majority class (ties toward the lower class: argmax takes the first maximum),
    # as annotation.core.votes computes them from the same histogram.
    mean = (counts * np.arange(N_CLASSES)).sum(1) / np.maximum(n, 1)
    majority = counts.argmax(1) if counts.shape[0] else np.zeros(0, np.int64)
    return _label_table(rep_row[order], local[order], et_ids, error_types, mean, majority, n, counts)


def _label_table(rep_row, local, et_ids, error_types, score, cls, n_votes, hist) -> dict:
    codes = np.array([error_types[int(pk)].code for pk in et_ids], dtype=object)
    generic = np.array([error_types[int(pk)].generic_name for pk in et_ids], dtype=object)
    local = np.asarray(local, dtype=np.int64)
    return {
        "rep_row": np.asarray(rep_row, dtype=np.int64),
        "error_type_id": et_ids[local] if et_ids.size else np.zeros(0, np.int64),
        "error_code": codes[local] if codes.size else np.zeros(0, dtype=object),
        "generic_name": generic[local] if generic.size else np.zeros(0, dtype=object),
        "score": np.asarray(score, dtype=np.float64),
        "cls": np.asarray(cls, dtype=np.int64),
        "n_votes": np.asarray(n_votes, dtype=np.int64),
        "hist": hist,
        "extra": {},
    }
