"""Raw severity votes in and out as CSV, and label sets out as CSV (docs/aggregation.md).

Votes file (long format, one vote per line, UTF-8, this header in any column order)::

    clip_id,exercise,participant,rep_index,annotator,error_type,severity

``clip_id`` is the clip's external id, the same on import and on every export; ``exercise`` is
the exercise slug, ``participant`` the participant's external id (may be empty), ``annotator`` a
username, ``error_type`` the error type's code within the exercise, ``severity`` 0..3.

Import checks the whole file before writing anything and refuses it as a whole, with line numbers
(up to ``MAX_REPORTED`` per problem), when it finds: a missing, unknown or repeated column; a
malformed line; a byte sequence that is not UTF-8; an empty cell (participant may be empty); a
severity other than 0, 1, 2, 3; a repetition index that is not a whole number 0..32767; a cell
starting with ``= + - @`` (a spreadsheet would run it as a formula); a clip given with two
exercises or participants, or with others than it has in the database; a (clip, repetition,
error type, annotator) given twice or already voted. Then one transaction creates the dataset,
exercises, error types, participants, annotators (users in the annotator group, no usable
password), clips, repetitions, the votes (COPY) and a submitted severity assignment per
(annotator, clip), and writes one audit entry.

On PostgreSQL the import skips the per-row foreign-key triggers when the database role may set
``session_replication_role`` (superuser, or ``GRANT SET ON PARAMETER session_replication_role``):
at 9 M votes those triggers fire 27 M checks at commit (plus ~3 M for the repetitions and
assignments), several times the COPY itself. The import then takes the locks the triggers would
have taken (SHARE on the clip and repetition tables, so other writers of clips and repetitions
wait until it commits; KEY SHARE on the referenced exercises, participants, error types and
users) and checks that every distinct id the new rows refer to exists, one query per table,
before committing. Without that right it inserts the ordinary way.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import DatabaseError, connection, transaction

from annotation.models import Assignment, EndPointLabel, LabelSet, SeverityVote
from annotation.roles import ANNOTATOR
from annotation.services.aggregation.evaluation import label_set_pick
from annotation.services.aggregation.inputs import (
    copy_columns, severity_labels_load, severity_votes_load, sort_votes,
)
from config.exceptions import DomainError, NotFoundError
from datasets.bulk import bulk_insert, db_now, indexes_deferred, is_postgres, reserve_ids, reset_sequence
from datasets.models import Clip, Dataset, ErrorType, Exercise, Participant, Repetition
from datasets.models.catalog import slug_validator

logger = logging.getLogger(__name__)
User = get_user_model()

VOTE_COLUMNS = ("clip_id", "exercise", "participant", "rep_index", "annotator", "error_type", "severity")
LABEL_COLUMNS = ("clip_id", "rep_index", "error_type", "n_votes", "mean", "majority", "bmm_score", "ds_class")
END_POINT_COLUMNS = ("clip_id", "count", "ends", "disagree", "reason")
MAX_REPORTED = 20
FORMULA_PREFIXES = (b"=", b"+", b"-", b"@", b"\t", b"\r")
_MAX_LENGTH = {"clip_id": 255, "exercise": 64, "participant": 128, "annotator": 150, "error_type": 96}
_REP_INDEX = re.compile(rb"^[0-9]{1,5}$")
_SEVERITY = {b"0": 0, b"1": 1, b"2": 2, b"3": 3}
_USERNAME = UnicodeUsernameValidator()


@dataclass
class Problems:
    """Everything wrong with a file, grouped by problem, with the first line numbers of each."""

    items: dict = field(default_factory=dict)

    def add(self, code: str, message: str, lines) -> None:
        lines = np.asarray(lines, dtype=np.int64).ravel()
        if lines.size == 0:
            return
        entry = self.items.setdefault(code, {"message": message, "count": 0, "lines": []})
        entry["count"] += int(lines.size)
        room = MAX_REPORTED - len(entry["lines"])
        entry["lines"] = sorted(set(entry["lines"]) | set(np.sort(lines)[:room].tolist()))[:MAX_REPORTED]

    def raise_if_any(self, path: str) -> None:
        if not self.items:
            return
        parts = [f"{e['message']} (line{'s' if e['count'] > 1 else ''} "
                 f"{', '.join(map(str, e['lines']))}{', ...' if e['count'] > len(e['lines']) else ''}; "
                 f"{e['count']} in all)" for e in self.items.values()]
        first = next(iter(self.items))
        raise DomainError(f"{Path(path).name} refused, nothing imported: " + "; ".join(parts),
                          code=first if len(self.items) == 1 else "invalid_file", fields={"problems": self.items})


# -- reading -------------------------------------------------------------------------------------------

def _read_header(path: str) -> list[str]:
    with open(path, "rb") as handle:
        first = handle.readline()
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise DomainError("Line 1 (the header) is not UTF-8; nothing imported.", code="not_utf8",
                          fields={"problems": {"not_utf8": {"lines": [1]}}}) from None
    return next(csv.reader([text])) if text else []


def _check_header(header: list[str]) -> None:
    problems = []
    unknown = [c for c in header if c not in VOTE_COLUMNS]
    missing = [c for c in VOTE_COLUMNS if c not in header]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if unknown:
        problems.append(("unknown_column", f"unknown column(s) {', '.join(map(repr, unknown))}"))
    if missing:
        problems.append(("missing_column", f"missing column(s) {', '.join(missing)}"))
    if repeated:
        problems.append(("repeated_column", f"column(s) given twice: {', '.join(repeated)}"))
    if problems:
        raise DomainError(f"Line 1 (the header): {'; '.join(m for _, m in problems)}. Expected "
                          f"{','.join(VOTE_COLUMNS)}. Nothing imported.", code=problems[0][0],
                          fields={"expected": list(VOTE_COLUMNS), "got": header})


def _malformed_lines(path: str) -> list[tuple[int, str]]:
    """Line numbers of rows with the wrong number of cells (single-threaded: pyarrow only knows
    line numbers then). Only called once a threaded read found such rows."""
    found = []

    def handler(row):
        found.append((row.number, row.text[:80]))
        return "skip"

    pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(use_threads=False),
                    parse_options=pa_csv.ParseOptions(invalid_row_handler=handler),
                    convert_options=pa_csv.ConvertOptions(column_types={c: pa.binary() for c in VOTE_COLUMNS},
                                                          strings_can_be_null=False, check_utf8=False))
    return found


def _read_table(path: str) -> pa.Table:
    malformed = []

    def handler(row):
        malformed.append(row)
        return "skip"

    dictionary = pa.dictionary(pa.int32(), pa.binary())
    table = pa_csv.read_csv(
        path,
        parse_options=pa_csv.ParseOptions(invalid_row_handler=handler),
        # Every cell as raw bytes, dictionary-encoded: 9 M rows of repeated ids cost a few int32
        # columns, and each distinct value is checked (UTF-8, format) once, not once per row.
        convert_options=pa_csv.ConvertOptions(column_types={c: dictionary for c in VOTE_COLUMNS},
                                              strings_can_be_null=False, check_utf8=False),
    )
    if malformed:
        problems = Problems()
        lines = [n for n, _ in _malformed_lines(path)]
        problems.add("malformed_line", f"wrong number of cells (expected {len(VOTE_COLUMNS)})", lines)
        problems.raise_if_any(path)
    return table


@dataclass
class Column:
    """A dictionary-encoded column: ``values[codes[i]]`` is row i's text."""

    values: list[str | None]  # None where the bytes are not UTF-8
    raw: list[bytes]
    codes: np.ndarray | None  # freed once the import no longer needs it

    def rows_with(self, bad: list[int]) -> np.ndarray:
        return np.flatnonzero(np.isin(self.codes, np.asarray(bad, dtype=np.int32))) if bad else np.zeros(0, np.int64)


def _column(table: pa.Table, name: str) -> Column:
    chunked = table.column(name).unify_dictionaries()
    if chunked.num_chunks == 0:
        return Column(values=[], raw=[], codes=np.zeros(0, dtype=np.int32))
    raw = chunked.chunks[0].dictionary.to_pylist()
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunked.chunks]).astype(np.int32)
    values = []
    for b in raw:
        try:
            values.append(b.decode("utf-8"))
        except UnicodeDecodeError:
            values.append(None)
    return Column(values=values, raw=raw, codes=codes)


def _validate_cells(columns: dict[str, Column], problems: Problems) -> None:
    line = lambda rows: np.asarray(rows) + 2  # noqa: E731  (header is line 1, first row line 2)
    for name, col in columns.items():
        problems.add("not_utf8", f"{name}: not UTF-8", line(col.rows_with([i for i, v in enumerate(col.values)
                                                                            if v is None])))
        if name != "participant":
            problems.add("empty_cell", f"{name}: empty", line(col.rows_with([i for i, b in enumerate(col.raw)
                                                                              if b.strip() == b""])))
    sev = columns["severity"]
    problems.add("invalid_severity", "severity: not one of 0, 1, 2, 3",
                 line(sev.rows_with([i for i, b in enumerate(sev.raw) if b.strip() != b"" and b not in _SEVERITY])))
    rep = columns["rep_index"]
    problems.add("invalid_rep_index", "rep_index: not a whole number 0..32767",
                 line(rep.rows_with([i for i, b in enumerate(rep.raw) if b.strip() != b""
                                     and not (_REP_INDEX.match(b) and int(b) <= 32767)])))
    for name in ("clip_id", "exercise", "participant", "annotator", "error_type"):
        col = columns[name]
        problems.add("formula_cell", f"{name}: starts with = + - @ (a spreadsheet formula)",
                     line(col.rows_with([i for i, b in enumerate(col.raw) if b.startswith(FORMULA_PREFIXES)])))
        problems.add("too_long", f"{name}: longer than {_MAX_LENGTH[name]} characters",
                     line(col.rows_with([i for i, v in enumerate(col.values) if v and len(v) > _MAX_LENGTH[name]])))

    def invalid(validator, value):
        try:
            validator(value)
            return False
        except Exception:
            return True

    for name, validator, what in (("exercise", slug_validator, "a slug (lowercase letters, digits, - or _)"),
                                  ("annotator", _USERNAME, "a username (letters, digits and @ . + - _)")):
        col = columns[name]
        problems.add(f"invalid_{name}", f"{name}: not {what}",
                     line(col.rows_with([i for i, v in enumerate(col.values)
                                         if v and not v.startswith(("=", "+", "-", "@")) and invalid(validator, v)])))


# -- import ------------------------------------------------------------------------------------------

def _first_of_each(keys: np.ndarray):
    """(distinct keys, first row of each, rows whose key repeats an earlier row)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.ones(keys.size, dtype=bool)
    starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    first = order[starts]
    return sorted_keys[starts], first, order[~starts]


def _rows_disagreeing(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Rows whose ``value`` differs from another row of the same ``group``."""
    pairs = np.unique(group.astype(np.int64) * (int(value.max(initial=0)) + 1) + value)
    per_group = np.bincount(pairs // (int(value.max(initial=0)) + 1), minlength=int(group.max(initial=0)) + 1)
    return np.flatnonzero(per_group[group] > 1)


@dataclass
class Parsed:
    clip: Column
    exercise: Column
    participant: Column
    annotator: Column
    error_type: Column
    rep_index: np.ndarray
    severity: np.ndarray
    n_rows: int


def _parse(path: str) -> Parsed:
    _check_header(_read_header(path))
    table = _read_table(path)
    columns = {name: _column(table, name) for name in VOTE_COLUMNS}
    del table
    problems = Problems()
    _validate_cells(columns, problems)
    problems.raise_if_any(path)
    n = columns["clip_id"].codes.size
    if n == 0:
        raise DomainError(f"{Path(path).name} holds no votes; nothing imported.", code="empty_file")
    rep_lookup = np.array([int(b) for b in columns["rep_index"].raw], dtype=np.int64)
    sev_lookup = np.array([_SEVERITY[b] for b in columns["severity"].raw], dtype=np.int8)
    parsed = Parsed(clip=columns["clip_id"], exercise=columns["exercise"], participant=columns["participant"],
                    annotator=columns["annotator"], error_type=columns["error_type"],
                    rep_index=rep_lookup[columns["rep_index"].codes], severity=sev_lookup[columns["severity"].codes],
                    n_rows=n)
    # A clip has one exercise and one participant.
    problems.add("inconsistent_clip", "clip_id: the same clip is given with different exercises or participants",
                 np.union1d(_rows_disagreeing(parsed.clip.codes, parsed.exercise.codes),
                            _rows_disagreeing(parsed.clip.codes, parsed.participant.codes)) + 2)
    problems.raise_if_any(path)
    return parsed


def _et_key(parsed: Parsed) -> np.ndarray:
    """One code per (exercise, error type) pair of each row."""
    return parsed.exercise.codes.astype(np.int64) * (len(parsed.error_type.values) + 1) + parsed.error_type.codes


def _check_duplicates(parsed: Parsed, problems: Problems) -> None:
    n_rep = int(parsed.rep_index.max(initial=0)) + 1
    key = ((parsed.clip.codes.astype(np.int64) * n_rep + parsed.rep_index) * (int(_et_key(parsed).max()) + 1)
           + _et_key(parsed)) * (len(parsed.annotator.values) + 1) + parsed.annotator.codes
    distinct, first, repeated = _first_of_each(key)
    if repeated.size:
        dup_keys = np.unique(key[repeated])
        rows = np.flatnonzero(np.isin(key, dup_keys))
        problems.add("duplicate_vote", "the same (clip, rep_index, error_type, annotator) appears more than once",
                     rows + 2)


def _as_str(column: Column, codes: np.ndarray) -> list[str]:
    return [column.values[c] for c in codes]


def _fast_references(cursor) -> bool:
    """Skip per-row FK triggers for this transaction if the role may; see the module docstring."""
    if not is_postgres():
        return False
    try:
        with transaction.atomic():  # a savepoint: a refused SET must not spoil the transaction
            cursor.execute("SET LOCAL session_replication_role = replica")
        return True
    except DatabaseError:
        return False


def _check_references(cursor, referenced: dict[str, np.ndarray]) -> None:
    """Every id the new rows refer to exists (the check the skipped FK triggers would have made,
    once per distinct id instead of once per row)."""
    for table, ids in referenced.items():
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        if is_postgres():
            cursor.execute(f"SELECT count(*) FROM {table} WHERE id = ANY(%s)", [ids.tolist()])
            found = cursor.fetchone()[0]
        else:  # the fast path is PostgreSQL's; elsewhere the check runs in bounded IN lists
            found = 0
            for part in np.array_split(ids, max(1, -(-ids.size // 500))):
                cursor.execute(f"SELECT count(*) FROM {table} WHERE id IN ({', '.join(['%s'] * part.size)})",
                               part.tolist())
                found += cursor.fetchone()[0]
        if found != ids.size:
            raise DomainError(f"{ids.size - found} id(s) the import refers to are missing from {table}; "
                              "nothing imported.", code="dangling_reference")


def votes_import(*, dataset_name: str, path: str, progress=None) -> dict:
    """Import a votes CSV into the dataset (created if new). All or nothing; see the module docstring."""
    report = progress or (lambda message: None)
    t0 = time.perf_counter()
    try:
        slug_validator(dataset_name)
    except Exception:
        raise DomainError(f"{dataset_name!r} is not a valid dataset name (a slug).", code="invalid_dataset_name") \
            from None
    parsed = _parse(path)
    problems = Problems()
    _check_duplicates(parsed, problems)
    problems.raise_if_any(path)
    report(f"checked {parsed.n_rows:,} rows in {time.perf_counter() - t0:.1f}s")
    with open(path, "rb") as handle:
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    client_key = f"import:{digest.hexdigest()[:16]}"  # stored on every vote: short keeps rows small

    with transaction.atomic():
        dataset, created = Dataset.objects.select_for_update().get_or_create(
            name=dataset_name, defaults={"kind": Dataset.Kind.HALO, "description": f"Imported from {Path(path).name}."})
        result = _write(dataset=dataset, dataset_created=created, parsed=parsed, client_key=client_key, path=path,
                        report=report)
    if is_postgres():
        with connection.cursor() as cursor:
            # Fresh statistics, so the next aggregation plans a scan of these votes sensibly.
            cursor.execute("ANALYZE annotation_severityvote")
    result["seconds"] = round(time.perf_counter() - t0, 2)
    logger.info("votes.imported", extra={"dataset": dataset_name, "rows": parsed.n_rows, "seconds": result["seconds"]})
    return result


def _ids_for(model_qs, key_field: str, wanted: list[str]) -> dict[str, int]:
    return dict(model_qs.filter(**{f"{key_field}__in": wanted}).values_list(key_field, "id"))


def _write(*, dataset, dataset_created, parsed: Parsed, client_key, path, report) -> dict:
    now = db_now()
    problems = Problems()
    clip_codes, clip_first, _ = _first_of_each(parsed.clip.codes.astype(np.int64))
    clip_names = _as_str(parsed.clip, clip_codes)
    clip_exercise = _as_str(parsed.exercise, parsed.exercise.codes[clip_first])
    clip_participant = _as_str(parsed.participant, parsed.participant.codes[clip_first])

    # Exercises and error types: create what the dataset lacks.
    exercise_ids = {e.slug: e.pk for e in Exercise.objects.filter(dataset=dataset)}
    new_exercises = sorted(set(v for v in parsed.exercise.values if v) - set(exercise_ids))
    for e in Exercise.objects.bulk_create(Exercise(dataset=dataset, slug=s, name=s.replace("_", " ").capitalize())
                                          for s in new_exercises):
        exercise_ids[e.slug] = e.pk
    et_keys, et_first, _ = _first_of_each(_et_key(parsed))
    pairs = [(parsed.exercise.values[parsed.exercise.codes[r]], parsed.error_type.values[parsed.error_type.codes[r]])
             for r in et_first]
    existing_et = {(e.exercise_id, e.code): e.pk for e in ErrorType.objects.filter(exercise__dataset=dataset)}
    missing_et = [(exercise_ids[x], c) for x, c in pairs if (exercise_ids[x], c) not in existing_et]
    for e in ErrorType.objects.bulk_create(ErrorType(exercise_id=x, code=c) for x, c in missing_et):
        existing_et[(e.exercise_id, e.code)] = e.pk
    et_id_of_key = dict(zip(et_keys.tolist(), [existing_et[(exercise_ids[x], c)] for x, c in pairs]))

    # Participants.
    participant_ids = _ids_for(Participant.objects.filter(dataset=dataset), "external_id",
                               sorted(set(p for p in clip_participant if p)))
    new_participants = sorted(set(p for p in clip_participant if p) - set(participant_ids))
    for p in Participant.objects.bulk_create(Participant(dataset=dataset, external_id=x) for x in new_participants):
        participant_ids[p.external_id] = p.pk

    # Annotators: users in the annotator group, without a usable password.
    names = sorted(set(v for v in parsed.annotator.values if v))
    user_ids = _ids_for(User.objects, "username", names)
    new_users = [n for n in names if n not in user_ids]
    User.objects.bulk_create(User(username=n, password="!") for n in new_users)
    user_ids.update(_ids_for(User.objects, "username", new_users))
    Group.objects.get_or_create(name=ANNOTATOR)[0].user_set.add(*[user_ids[n] for n in new_users])
    report(f"{len(new_exercises)} exercises, {len(missing_et)} error types, {len(new_participants)} participants, "
           f"{len(new_users)} annotators created")

    # Clips: known ones must match the file; create the rest with explicit ids.
    known = {} if dataset_created else {
        c[0]: c[1:] for c in Clip.objects.filter(dataset=dataset).values_list(
            "external_id", "id", "exercise_id", "participant_id")}
    clip_ids = np.zeros(len(clip_names), dtype=np.int64)
    clash = []
    for i, name in enumerate(clip_names):
        if name in known:
            pk, ex, part = known[name]
            if ex != exercise_ids[clip_exercise[i]] or part != participant_ids.get(clip_participant[i]):
                clash.append(int(clip_first[i]))
            clip_ids[i] = pk
    problems.add("clip_conflict", "clip_id: the clip exists with another exercise or participant",
                 np.array(clash, dtype=np.int64) + 2)
    problems.raise_if_any(path)
    cursor = connection.cursor()
    fast = _fast_references(cursor)
    if fast:
        # What the skipped FK triggers would have locked: nothing this import refers to may be
        # deleted before it commits. (Other writers of clips and repetitions wait meanwhile.)
        cursor.execute("LOCK TABLE datasets_clip, datasets_repetition IN SHARE MODE")
        for table, ids in (("datasets_exercise", list(exercise_ids.values())),
                           ("datasets_participant", list(participant_ids.values())),
                           ("datasets_errortype", list(et_id_of_key.values())),
                           ("auth_user", list(user_ids.values()))):
            cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", [ids])

    new = np.flatnonzero(clip_ids == 0)
    if new.size:
        first = reserve_ids(Clip, int(new.size))
        clip_ids[new] = np.arange(first, first + new.size)
        bulk_insert(Clip, {
            "id": clip_ids[new], "dataset_id": dataset.pk,
            "exercise_id": np.array([exercise_ids[clip_exercise[i]] for i in new], dtype=np.int64),
            "participant_id": [participant_ids.get(clip_participant[i]) for i in new],
            "external_id": [clip_names[i] for i in new], "source": "import", "fps": 30.0, "frame_count": 0,
            "pose_file": "", "video_file": "", "content_hash": "", "created_at": now,
        }, n_rows=int(new.size))
        reset_sequence(Clip)

    # Repetitions: (clip, index) pairs the database lacks.
    row_clip = clip_ids[np.searchsorted(clip_codes, parsed.clip.codes)]
    n_idx = int(parsed.rep_index.max()) + 1
    rep_key = row_clip * n_idx + parsed.rep_index
    known_keys, known_ids = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not dataset_created:
        old_ids, old_clip, old_index = _repetitions_of(dataset.pk)
        usable = old_index < n_idx  # an index beyond the file's largest cannot be asked for
        known_keys, known_ids = old_clip[usable] * n_idx + old_index[usable], old_ids[usable]
    missing = np.setdiff1d(np.unique(rep_key), known_keys)
    if missing.size:
        first = reserve_ids(Repetition, int(missing.size))
        new_ids = np.arange(first, first + missing.size, dtype=np.int64)
        bulk_insert(Repetition, {"id": new_ids, "clip_id": missing // n_idx, "index": missing % n_idx},
                    n_rows=int(missing.size))
        reset_sequence(Repetition)
        known_keys, known_ids = np.concatenate([known_keys, missing]), np.concatenate([known_ids, new_ids])
    order = np.argsort(known_keys)
    rep_id = known_ids[order][np.searchsorted(known_keys[order], rep_key)]
    del rep_key, known_keys, known_ids, order
    report(f"{new.size} clips and {missing.size} repetitions created")

    et_id = _map_keys(_et_key(parsed), et_id_of_key)
    ann_lookup = np.array([user_ids.get(v, 0) if v else 0 for v in parsed.annotator.values], dtype=np.int64)
    ann_id = ann_lookup[parsed.annotator.codes]
    severity = parsed.severity
    # The columns' codes are no longer needed: free them before the sort below.
    for column in (parsed.clip, parsed.exercise, parsed.participant, parsed.annotator, parsed.error_type):
        column.codes = None

    # Votes that already exist (an earlier import of overlapping data) are refused, not skipped.
    if not dataset_created:
        old = severity_votes_load(dataset_id=dataset.pk)
        if len(old):
            span_e = int(max(old.error_type.max(), et_id.max())) + 1
            span_a = int(max(old.annotator.max(), ann_id.max())) + 1
            old_key = (old.repetition * span_e + old.error_type) * span_a + old.annotator
            new_key = (rep_id * span_e + et_id) * span_a + ann_id
            problems.add("vote_exists", "the annotator already voted on this repetition and error type",
                         np.flatnonzero(np.isin(new_key, old_key)) + 2)
            problems.raise_if_any(path)
            del old, old_key, new_key

    # Every vote comes from a submitted assignment (the work queue then skips these clips).
    span = int(ann_id.max()) + 1
    pair_keys = np.unique(row_clip * span + ann_id)
    del row_clip
    if not dataset_created:
        held = np.array([c * span + a for c, a in Assignment.objects.filter(
            clip__dataset=dataset, kind=Assignment.Kind.SEVERITY, annotator_id__lt=span)
            .values_list("clip_id", "annotator_id")], dtype=np.int64)
        pair_keys = np.setdiff1d(pair_keys, held)
    if pair_keys.size:
        bulk_insert(Assignment, {
            "clip_id": pair_keys // span, "annotator_id": pair_keys % span,
            "kind": Assignment.Kind.SEVERITY.value, "item_ref": "", "state": Assignment.State.SUBMITTED.value,
            "created_at": now, "submitted_at": now,
        }, n_rows=int(pair_keys.size))

    # Sorted the way aggregation reads them (and the unique index is keyed): the index pages fill
    # left to right. An exported file is already in this order, and then nothing moves.
    votes = sort_votes(rep_id, et_id, ann_id, severity)
    del rep_id, et_id, ann_id, severity
    with indexes_deferred(SeverityVote, n_rows=parsed.n_rows) as deferred:
        bulk_insert(SeverityVote, {
            "repetition_id": votes.repetition, "error_type_id": votes.error_type, "annotator_id": votes.annotator,
            "value": votes.value.astype(np.int16), "client_key": client_key, "created_at": now,
        }, n_rows=parsed.n_rows)
    if fast:
        _check_references(cursor, {
            "datasets_clip": clip_ids, "datasets_repetition": np.unique(votes.repetition),
            "datasets_errortype": np.unique(votes.error_type), "auth_user": np.unique(votes.annotator),
            "datasets_exercise": np.array(list(exercise_ids.values())),
            "datasets_participant": np.array(list(participant_ids.values())),
        })
        cursor.execute("SET LOCAL session_replication_role = origin")
    cursor.close()
    del votes
    report(f"{parsed.n_rows:,} votes written ({'without' if fast else 'with'} per-row FK triggers"
           + (f"; index(es) {', '.join(deferred)} built after the load)" if deferred else ")"))

    from audit.services import audit_record

    audit_record(action="create", object_type="annotation.SeverityVote", object_id=client_key,
                 dataset_id=dataset.pk, changes={"rows": parsed.n_rows, "source_file": Path(path).name,
                                                 "clips_created": int(new.size),
                                                 "repetitions_created": int(missing.size),
                                                 "annotators_created": len(new_users)})
    return {"dataset": dataset.name, "dataset_created": dataset_created, "votes": parsed.n_rows,
            "clips_created": int(new.size), "repetitions_created": int(missing.size),
            "exercises_created": len(new_exercises), "error_types_created": len(missing_et),
            "participants_created": len(new_participants), "annotators_created": len(new_users),
            "fk_triggers_skipped": fast, "client_key": client_key}


def _map_keys(keys: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    src = np.array(list(mapping), dtype=np.int64)
    dst = np.array(list(mapping.values()), dtype=np.int64)
    order = np.argsort(src)
    return dst[order][np.searchsorted(src[order], keys)]


# -- export ------------------------------------------------------------------------------------------

def _refuse_formulas(name: str, values: list[str]) -> None:
    bad = [v for v in values if v and v.startswith(("=", "+", "-", "@", "\t", "\r"))]
    if bad:
        raise DomainError(f"{name} value(s) {bad[:5]} start with = + - @; a spreadsheet would run them as formulas. "
                          "Rename them before exporting.", code="formula_cell")


def _write_csv(out: str, header, columns: dict, n_rows: int) -> None:
    table = pa.table(columns) if n_rows else pa.table({k: pa.array([], pa.string()) for k in header})
    with open(out, "wb") as handle:
        handle.write((",".join(header) + "\n").encode())
        pa_csv.write_csv(table, handle, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))


def _dict_column(codes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values, pa.string()))


def _repetitions_of(dataset_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(repetition id, clip id, index) of the dataset, sorted by repetition id."""
    rep, clip, index = copy_columns([("r.id", "int8"), ("r.clip_id", "int8"), ('r."index"', "int4")],
                                    "FROM datasets_repetition r JOIN datasets_clip c ON c.id = r.clip_id "
                                    "WHERE c.dataset_id = %s", [dataset_id])
    order = np.argsort(rep)
    return rep[order], clip[order], index[order].astype(np.int64)


def _clip_tables(dataset: Dataset):
    clips = list(Clip.objects.filter(dataset=dataset).order_by("id")
                 .values_list("id", "external_id", "exercise__slug", "participant__external_id"))
    ids = np.array([c[0] for c in clips], dtype=np.int64)
    return ids, [c[1] for c in clips], [c[2] for c in clips], [c[3] or "" for c in clips]


def votes_export(*, dataset: Dataset, out: str) -> dict:
    """Write every severity vote of the dataset in the import format, sorted by (repetition, error
    type, annotator). Importing the file into a new dataset gives the same votes."""
    votes = severity_votes_load(dataset_id=dataset.pk)
    rep_ids, rep_clip, rep_index = _repetitions_of(dataset.pk)
    clip_ids, clip_names, clip_exercise, clip_participant = _clip_tables(dataset)
    users = dict(User.objects.filter(pk__in=np.unique(votes.annotator).tolist()).values_list("pk", "username"))
    ets = dict(ErrorType.objects.filter(exercise__dataset=dataset).values_list("pk", "code"))
    for name, values in (("clip_id", clip_names), ("participant", clip_participant), ("annotator", users.values()),
                         ("error_type", ets.values())):
        _refuse_formulas(name, list(values))
    pos = np.searchsorted(rep_ids, votes.repetition)
    clip_pos = np.searchsorted(clip_ids, rep_clip[pos])
    user_list, et_list = sorted(users), sorted(ets)
    columns = {
        "clip_id": _dict_column(clip_pos, clip_names),
        "exercise": _dict_column(clip_pos, clip_exercise),
        "participant": _dict_column(clip_pos, clip_participant),
        "rep_index": pa.array(rep_index[pos]),
        "annotator": _dict_column(np.searchsorted(user_list, votes.annotator), [users[u] for u in user_list]),
        "error_type": _dict_column(np.searchsorted(et_list, votes.error_type), [ets[e] for e in et_list]),
        "severity": pa.array(votes.value.astype(np.int64)),
    }
    _write_csv(out, VOTE_COLUMNS, columns, len(votes))
    return {"dataset": dataset.name, "votes": len(votes), "out": out, "input_hash": votes.digest()}


def labels_export(*, dataset: Dataset, out: str, label_set_id: int | None = None,
                  endpoint_label_set_id: int | None = None, endpoints_out: str | None = None) -> dict:
    """Write a severity label set (the given one, else the current, else the newest) as CSV, and
    the end-point label set next to it (``<out>_endpoints.csv`` unless ``endpoints_out``)."""
    severity = label_set_pick(dataset=dataset, kind=LabelSet.Kind.SEVERITY, label_set_id=label_set_id)
    endpoints = label_set_pick(dataset=dataset, kind=LabelSet.Kind.ENDPOINTS, label_set_id=endpoint_label_set_id)
    if severity is None and endpoints is None:
        raise NotFoundError(f"Dataset {dataset.name!r} has no label set yet.", code="no_label_set")
    clip_ids, clip_names, _, _ = _clip_tables(dataset)
    _refuse_formulas("clip_id", clip_names)
    result = {"dataset": dataset.name}
    if severity is not None:
        labels = severity_labels_load(label_set_id=severity.pk)
        rep_ids, rep_clip, rep_index = _repetitions_of(dataset.pk)
        pos = np.searchsorted(rep_ids, labels["repetition"])
        ets = dict(ErrorType.objects.filter(exercise__dataset=dataset).values_list("pk", "code"))
        _refuse_formulas("error_type", list(ets.values()))
        et_list = sorted(ets)
        columns = {
            "clip_id": _dict_column(np.searchsorted(clip_ids, rep_clip[pos]), clip_names),
            "rep_index": pa.array(rep_index[pos]),
            "error_type": _dict_column(np.searchsorted(et_list, labels["error_type"]), [ets[e] for e in et_list]),
            "n_votes": pa.array(labels["n_votes"].astype(np.int64)),
            "mean": pa.array(labels["mean"]),
            "majority": pa.array(labels["majority"].astype(np.int64)),
            "bmm_score": pa.array(labels["bmm_score"], from_pandas=True),  # NaN -> empty cell
            "ds_class": pa.array(labels["ds_class"].astype(np.int64), mask=labels["ds_class"] < 0),
        }
        _write_csv(out, LABEL_COLUMNS, columns, int(labels["repetition"].size))
        result.update(label_set=severity.pk, label_set_number=severity.number, input_hash=severity.input_hash,
                      rows=int(labels["repetition"].size), out=out)
    if endpoints is not None:
        target = endpoints_out or str(Path(out).with_name(Path(out).stem + "_endpoints.csv"))
        rows = list(EndPointLabel.objects.filter(label_set=endpoints).order_by("clip_id")
                    .values_list("clip_id", "count", "ends", "disagree", "reason"))
        name_of = dict(zip(clip_ids.tolist(), clip_names))
        columns = {
            "clip_id": pa.array([name_of.get(r[0], str(r[0])) for r in rows], pa.string()),
            "count": pa.array([r[1] for r in rows], pa.int64()),
            # Space-separated frames: one cell per clip, no nested CSV quoting.
            "ends": pa.array([" ".join(f"{x:g}" for x in r[2]) for r in rows], pa.string()),
            "disagree": pa.array([bool(r[3]) for r in rows], pa.bool_()),
            "reason": pa.array([r[4] for r in rows], pa.string()),
        }
        _write_csv(target, END_POINT_COLUMNS, columns, len(rows))
        result.update(endpoint_label_set=endpoints.pk, endpoint_rows=len(rows), endpoints_out=target)
    return result
