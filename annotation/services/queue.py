"""The work queue: which item an annotator labels next.

An item is a (clip, kind of label). The queue hands it out as an ``Assignment`` lease that
expires after ``Dataset.lease_minutes``; the label submission services refuse a submission on an
expired lease (``lease_expired``), and an expired, unsubmitted lease stops counting toward the
clip's quota, so abandoned items return to the pool by themselves. No sweeper job is needed.

Quota (distinct annotators per clip, see ``QUOTAS``): end points 3 (Halo: three annotators mark
every repetition end), severity 10 at clip granularity (Halo: ten votes per (repetition, error
type); a clip needs voters while fewer than ten annotators hold severity assignments on it),
FLEX stage 1: 3 annotators, stage 2: 3 reviewers, only once stage 1 has three submitted sets and
never a reviewer who did stage 1 of that clip. A holder is a submitted assignment or a lease that
has not expired; assignments a curator sent back (``item_ref == "sent_back"``) no longer count.

Ordering (``Dataset.queue_order``), see ``docs/ui.md``:
- breadth first: the clip with the most holders still short of its quota first (finish items
  close to complete), then by id;
- uncertainty first: the clip whose current label set is least sure first (low Dawid-Skene
  posterior of the chosen class, or a BMM score near 0.5; for end points, annotators who
  disagree), see ``uncertainty_ranking``; clips the label set does not rank follow, breadth
  first. Without a current label set this is breadth first.

Concurrency: one transaction per request. The annotator's advisory lock makes ``next``
idempotent under double clicks; the candidate clip is taken with ``FOR UPDATE SKIP LOCKED`` and
its quota re-checked under the lock, so fifty annotators asking at once get fifty different
clips and no clip is over-assigned. On SQLite the transaction itself is the lock. Breadth first
looks first into a shared window of the best open clips (recomputed at most once a second per
process), so a request does not rank the whole dataset; see ``_window``.
"""
import logging
import threading
from datetime import timedelta

import numpy as np
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.lock_objects import annotator_lock, clip_lock_first_free, clips_lock
from annotation.models import Assignment, SeverityVote
from annotation.roles import ADMIN, ANNOTATOR, CURATOR, REVIEWER, has_role
from config.exceptions import ConflictError, DomainError, ForbiddenError, NotFoundError
from datasets.models import Clip, Dataset, ErrorType, Exercise, Repetition

logger = logging.getLogger(__name__)

Kind = Assignment.Kind

QUOTAS: dict[str, int] = {
    Kind.ENDPOINTS: 3,
    Kind.SEVERITY: 10,
    Kind.SEGMENTS: 1,
    Kind.FEEDBACK: 1,
    Kind.FLEX_STAGE1: 3,
    Kind.FLEX_STAGE2: 3,
}

# Who may take items of a kind from the queue (curators and admins may label too).
KIND_ROLES: dict[str, tuple[str, ...]] = {
    Kind.ENDPOINTS: (ANNOTATOR, CURATOR, ADMIN),
    Kind.SEVERITY: (ANNOTATOR, CURATOR, ADMIN),
    Kind.SEGMENTS: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FEEDBACK: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FLEX_STAGE1: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FLEX_STAGE2: (REVIEWER, CURATOR, ADMIN),
}

# Which kinds of work each kind of dataset offers.
DATASET_KINDS: dict[str, tuple[str, ...]] = {
    Dataset.Kind.HALO: (Kind.ENDPOINTS, Kind.SEVERITY, Kind.SEGMENTS, Kind.FEEDBACK),
    Dataset.Kind.GENERIC: (Kind.ENDPOINTS, Kind.SEVERITY, Kind.SEGMENTS, Kind.FEEDBACK),
    # FLEX error types live in the knowledge graph, not as dataset error types: no segments.
    Dataset.Kind.FLEX: (Kind.FLEX_STAGE1, Kind.FLEX_STAGE2, Kind.FEEDBACK),
}

# item_ref markers. A released lease is one the annotator skipped: it is not handed back to
# them. A sent-back assignment is one a curator asked to be labelled again by someone else.
RELEASED = "released"
SENT_BACK = "sent_back"

# How many locked-then-rejected candidates one request tries before giving up. A rejection
# only happens when another transaction filled the clip between our read and our lock.
_MAX_ATTEMPTS = 8


def kinds_for_dataset(dataset: Dataset) -> tuple[str, ...]:
    return DATASET_KINDS.get(dataset.kind, DATASET_KINDS[Dataset.Kind.GENERIC])


def may_take(user, kind: str) -> bool:
    return has_role(user, *KIND_ROLES.get(kind, ()))


# The per-request conditions are SQL fragments on the clip row, not ORM subqueries: composing
# a handful of Exists/OuterRef subqueries costs Django several milliseconds per request, ten
# times what PostgreSQL needs to run them, and ``next`` is the one call fifty annotators make
# at once. Each rule is written once, here, and every query of the queue uses it.

def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _clip_id() -> str:
    return f"{_q(Clip._meta.db_table)}.{_q('id')}"


def _holders_sql(*, kind: str, now, clip_id: str | None = None, other_than=None) -> tuple[str, list]:
    """How many assignments count toward the quota of the clip ``clip_id`` (SQL, params).

    ``clip_id`` defaults to the outer query's clip row; ``other_than`` leaves one annotator out.
    """
    sql = (f"(SELECT COUNT(*) FROM {_q(Assignment._meta.db_table)} h WHERE h.clip_id = {clip_id or _clip_id()}"
           " AND h.kind = %s AND (h.state = %s OR (h.state = %s AND h.lease_expires_at > %s))"
           " AND h.item_ref <> %s")
    params = [kind, Assignment.State.SUBMITTED, Assignment.State.LEASED, now, SENT_BACK]
    if other_than is not None:
        sql += " AND h.annotator_id <> %s"
        params.append(other_than.pk)
    return sql + ")", params


def _holders(*, kind: str, now) -> RawSQL:
    return RawSQL(*_holders_sql(kind=kind, now=now), output_field=IntegerField())


def _not_done_by_sql(*, user, kind: str) -> tuple[str, list]:
    """The clip row is not one ``user`` did, skipped, or may not take for ``kind`` (SQL, params)."""
    assignments = _q(Assignment._meta.db_table)
    clip_id = _clip_id()
    # Submitted or skipped by this user (skipped items never come back to the one who skipped).
    sql = (f"NOT EXISTS (SELECT 1 FROM {assignments} d WHERE d.annotator_id = %s AND d.clip_id = {clip_id}"
           " AND d.kind = %s AND (d.state = %s OR d.item_ref = %s))")
    params = [user.pk, kind, Assignment.State.SUBMITTED, RELEASED]
    if kind == Kind.SEVERITY:
        # A vote batch stored while the "complete" call was lost still means "already did it".
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {_q(SeverityVote._meta.db_table)} v"
                f" JOIN {_q(Repetition._meta.db_table)} r ON r.id = v.repetition_id"
                f" WHERE v.annotator_id = %s AND r.clip_id = {clip_id})")
        params.append(user.pk)
    # FLEX: a reviewer of a sample never annotates it (the kg app refuses that submission),
    # and a stage 1 annotator never reviews it.
    other_stage = {Kind.FLEX_STAGE1: Kind.FLEX_STAGE2, Kind.FLEX_STAGE2: Kind.FLEX_STAGE1}.get(kind)
    if other_stage:
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {assignments} o WHERE o.annotator_id = %s"
                f" AND o.clip_id = {clip_id} AND o.kind = %s)")
        params += [user.pk, other_stage]
    return sql, params


def _count_subquery(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("clip_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _stage1_submitted() -> QuerySet:
    return Assignment.objects.filter(clip_id=OuterRef("pk"), kind=Kind.FLEX_STAGE1,
                                     state=Assignment.State.SUBMITTED).exclude(item_ref=SENT_BACK)


def _has_media() -> Q:
    return ~Q(pose_file="") | ~Q(video_file="")


def candidate_clips(*, user, dataset: Dataset, kind: str, now) -> QuerySet:
    """Clips of ``dataset`` that still need ``kind`` labels and that ``user`` may take, best first.

    The quota and exclusions are evaluated at read time; ``queue_next`` re-checks them under the
    clip's lock.
    """
    qs = _open_clips(dataset=dataset, kind=kind, now=now).select_related("exercise")
    return _ordered(_not_done_by(qs, user=user, kind=kind), dataset=dataset, kind=kind)


def _open_clips(*, dataset: Dataset, kind: str, now, ids: list[int] | None = None) -> QuerySet:
    """Clips of ``dataset`` that still need ``kind`` labels from someone, annotated with ``holders``.

    Only conditions that are the same for every annotator: the shared window is built from these.
    ``ids`` (clips of ``dataset``, e.g. a ranking from its label set) replaces the dataset filter:
    with both, the planner may read every clip of the dataset and test each against the ids.
    """
    clips = Clip.objects.filter(dataset=dataset) if ids is None else Clip.objects.filter(_in_ids(ids))
    qs = (
        clips.filter(_has_media())
        .annotate(holders=_holders(kind=kind, now=now))
        .filter(holders__lt=QUOTAS[kind])
    )
    if kind == Kind.SEVERITY:
        qs = qs.filter(Exists(Repetition.objects.filter(clip_id=OuterRef("pk"))),
                       Exists(ErrorType.objects.filter(exercise_id=OuterRef("exercise_id"))))
    if kind == Kind.SEGMENTS:
        qs = qs.filter(Exists(ErrorType.objects.filter(exercise_id=OuterRef("exercise_id"))))
    if kind == Kind.FLEX_STAGE2:
        qs = qs.annotate(stage1=_count_subquery(_stage1_submitted())).filter(stage1__gte=QUOTAS[Kind.FLEX_STAGE1])
    return qs


def _not_done_by(qs: QuerySet, *, user, kind: str) -> QuerySet:
    """``qs`` without the clips ``user`` already did, skipped, or may not take for ``kind``."""
    return qs.filter(RawSQL(*_not_done_by_sql(user=user, kind=kind), output_field=BooleanField()))


def _ordered(qs: QuerySet, *, dataset: Dataset, kind: str) -> QuerySet:
    return qs.order_by("-holders", "pk")


# ---------------------------------------------------------------- breadth first, windowed

# The shared window: the best ``_WINDOW`` open clips of a (dataset, kind), recomputed at most
# every ``_WINDOW_TTL_S`` seconds per process. Ranking every clip of a dataset costs a scan of
# the dataset per request; with fifty annotators asking at once that scan is the whole cost of
# ``next``. Inside the window the order is exact (live holder counts); a window that holds
# nothing for this annotator falls back to the full query, so no item is ever out of reach.
_WINDOW = 200
_WINDOW_TTL_S = 1.0


# One thread per process recomputes an expired window; the others wait for it instead of
# running the same dataset scan side by side (fifty annotators starting at once would otherwise
# make every thread of every worker scan the dataset at the same instant). The query takes no
# row lock, so the thread holding this lock never waits on another transaction.
_window_recompute = threading.Lock()


def _window(*, dataset: Dataset, kind: str, now) -> list[int]:
    key = f"formlab:queue:window:{dataset.pk}:{dataset.created_at.timestamp()}:{kind}"
    ids = cache.get(key)
    if ids is None:
        with _window_recompute:
            ids = cache.get(key)
            if ids is None:
                ids = list(_open_clips(dataset=dataset, kind=kind, now=now).order_by("-holders", "pk")
                           .values_list("pk", flat=True)[:_WINDOW])
                cache.set(key, ids, _WINDOW_TTL_S)
    return ids


def _in_ids(ids: list[int]):
    """A filter on the clip id being one of ``ids``.

    On PostgreSQL the ids travel as one array parameter (``id = ANY(%s)``, an index condition):
    hundreds of ``IN`` placeholders cost more to build and parse than the query costs to run.
    """
    if connection.vendor == "postgresql":
        return RawSQL(f"{_clip_id()} = ANY(%s)", (ids,), output_field=BooleanField())
    return Q(pk__in=ids)


def _rank_in(ids: list[int]):
    """An ordering by position in ``ids`` (first id first)."""
    if connection.vendor == "postgresql":
        return RawSQL(f"array_position(%s::bigint[], {_clip_id()})", (ids,), output_field=IntegerField())
    return Case(*[When(pk=clip_id, then=Value(i)) for i, clip_id in enumerate(ids)], output_field=IntegerField())


def _with_exercise(clip: Clip) -> Clip:
    # The locking queries join nothing (not even the exercise): on a freshly imported dataset,
    # whose statistics are not gathered yet, a join let the planner walk clips by exercise
    # instead of by id (22 ms instead of 2 ms on 2,000 clips). The answer names the exercise.
    clip.exercise = Exercise.objects.get(pk=clip.exercise_id)
    return clip


def _lock_breadth_first(*, user, dataset: Dataset, kind: str, now, rejected: list[int]) -> Clip | None:
    window = _window(dataset=dataset, kind=kind, now=now)
    if window:
        # Of the window's conditions only the holder count changes within its lifetime, so only
        # that one is evaluated again here (and once more under the clip's lock, _still_open).
        in_window = (Clip.objects.filter(_in_ids(window)).annotate(holders=_holders(kind=kind, now=now))
                     .filter(holders__lt=QUOTAS[kind]))
        in_window = _not_done_by(in_window, user=user, kind=kind).exclude(pk__in=rejected).order_by("-holders", "pk")
        clip = clip_lock_first_free(candidates=in_window)
        if clip is not None:
            return _with_exercise(clip)
    candidates = candidate_clips(user=user, dataset=dataset, kind=kind, now=now).exclude(pk__in=rejected)
    return clip_lock_first_free(candidates=candidates)


# ---------------------------------------------------------------- uncertainty first

# How many ranked clips one locking query looks at. Ranked clips that are already full or done
# by this annotator are filtered out by the same query, so a window rarely comes back empty.
_RANK_WINDOW = 500


def uncertainty_ranking(*, dataset: Dataset, kind: str) -> list[int] | None:
    """Clip ids of ``dataset``, least sure first, from the current label set of ``kind``.

    Severity: a clip is as unsure as its least sure (repetition, error type) item, where an
    item's uncertainty is the larger of 1 - its Dawid-Skene posterior of the chosen class and
    1 - 2 |BMM score - 0.5| (1 at a score of 0.5, 0 at a clean 0 or 1). End points: a clip whose
    annotators disagree comes first, then by the largest spread of a matched mark (in seconds).
    Clips missing from the label set are not ranked (they come after, breadth first).

    A label set never changes, so its ranking is computed once per process and cached by id.
    None when the dataset has no current label set of that kind.
    """
    from annotation.models import EndPointLabel, LabelSet, SeverityLabel

    set_kind = {Kind.SEVERITY: LabelSet.Kind.SEVERITY, Kind.ENDPOINTS: LabelSet.Kind.ENDPOINTS}.get(kind)
    if set_kind is None:
        return None
    label_set = LabelSet.objects.filter(dataset=dataset, kind=set_kind, is_current=True).first()
    if label_set is None:
        return None
    # The id alone could come back after a rolled-back transaction (SQLite reuses rowids).
    key = f"formlab:queue:uncertainty:{label_set.pk}:{label_set.input_hash[:16]}:{label_set.created_at.timestamp()}"
    ranking = cache.get(key)
    if ranking is not None:
        return ranking
    if set_kind == LabelSet.Kind.SEVERITY:
        rows = np.array(list(SeverityLabel.objects.filter(label_set=label_set).values_list(
            "repetition__clip_id", "ds_confidence", "bmm_score")), dtype=np.float64).reshape(-1, 3)
        ds = 1.0 - rows[:, 1]
        bmm = 1.0 - 2.0 * np.abs(rows[:, 2] - 0.5)
        item = np.fmax(np.nan_to_num(ds, nan=-1.0), np.nan_to_num(bmm, nan=-1.0))
        clip_ids, inverse = np.unique(rows[:, 0].astype(np.int64), return_inverse=True)
        score = np.full(len(clip_ids), -1.0)
        np.maximum.at(score, inverse, item)
    else:
        labels = list(EndPointLabel.objects.filter(label_set=label_set).values_list("clip_id", "disagree", "spread",
                                                                                  "clip__fps"))
        clip_ids = np.array([c for c, _, _, _ in labels], dtype=np.int64)
        score = np.array([(1.0 if d else 0.0) + min(max(sp or [0.0]) / max(fps, 1e-6), 1.0)
                          for _, d, sp, fps in labels], dtype=np.float64)
    order = np.lexsort((clip_ids, -score))  # most unsure first, ties by id
    ranking = clip_ids[order].tolist()
    cache.set(key, ranking, None)
    return ranking


def _lock_by_uncertainty(*, user, dataset: Dataset, kind: str, now, rejected: list[int],
                         ranking: list[int]) -> Clip | None:
    """Lock the first free candidate in ranking order, one window of ranked ids at a time."""
    for start in range(0, len(ranking), _RANK_WINDOW):
        window = ranking[start:start + _RANK_WINDOW]  # clips of the dataset: its label set ranked them
        candidates = _not_done_by(_open_clips(dataset=dataset, kind=kind, now=now, ids=window), user=user, kind=kind)
        candidates = candidates.exclude(pk__in=rejected).order_by(_rank_in(window), "pk")
        clip = clip_lock_first_free(candidates=candidates)
        if clip is not None:
            return _with_exercise(clip)
    unranked = candidate_clips(user=user, dataset=dataset, kind=kind, now=now).exclude(pk__in=rejected)
    return clip_lock_first_free(candidates=unranked.exclude(_in_ids(ranking)))


def _still_open(*, clip: Clip, user, kind: str, now) -> bool:
    """Re-check, under the clip's lock, that the clip still has room for ``user``.

    A new statement sees what other transactions committed since the locking query started.
    """
    holders, params = _holders_sql(kind=kind, now=now, clip_id="%s", other_than=user)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {holders}", [clip.pk, *params])
        if cursor.fetchone()[0] >= QUOTAS[kind]:
            return False
    if kind == Kind.FLEX_STAGE2:
        stage1 = Assignment.objects.filter(clip=clip, kind=Kind.FLEX_STAGE1, state=Assignment.State.SUBMITTED)
        if stage1.exclude(item_ref=SENT_BACK).count() < QUOTAS[Kind.FLEX_STAGE1]:
            return False
    return True


def _check_may_take(*, user, dataset: Dataset, kind: str) -> None:
    if kind not in QUOTAS:
        raise DomainError(f"Unknown kind {kind!r}. Known: {', '.join(QUOTAS)}.", code="unknown_kind")
    if not may_take(user, kind):
        raise ForbiddenError(f"Your role may not take {kind} items.", code="forbidden_kind")
    if kind not in kinds_for_dataset(dataset):
        raise DomainError(f"Dataset {dataset.name} has no {kind} work.", code="kind_not_in_dataset")


def _held_lease(*, user, dataset: Dataset, kind: str, now) -> Assignment | None:
    # The dataset is checked here, not in SQL: filtering on the clip's dataset lets the planner
    # start from the dataset's clips (it does, on a freshly imported dataset whose statistics
    # are not gathered yet) and probe each one, thousands of probes per request. An annotator
    # holds at most a few live leases of a kind, so reading them all is one short index scan.
    leases = (
        Assignment.objects.select_related("clip", "clip__exercise")
        .filter(annotator=user, kind=kind, state=Assignment.State.LEASED, lease_expires_at__gt=now)
        .exclude(item_ref__in=[RELEASED, SENT_BACK])
        .order_by("lease_expires_at", "pk")
    )
    return next((lease for lease in leases if lease.clip.dataset_id == dataset.pk), None)


def _finished_elsewhere(assignment: Assignment) -> bool:
    """A severity lease whose votes are stored is done even if nobody marked it submitted."""
    return assignment.kind == Kind.SEVERITY and SeverityVote.objects.filter(
        annotator_id=assignment.annotator_id, repetition__clip_id=assignment.clip_id).exists()


def queue_next(*, user, dataset: Dataset, kind: str) -> Assignment | None:
    """Lease the next ``kind`` item of ``dataset`` to ``user``, or return None when none is left.

    Idempotent: while the user holds a valid lease of this kind in this dataset, that lease is
    renewed and returned again. Locks: the annotator (advisory), then one clip (SKIP LOCKED).
    """
    _check_may_take(user=user, dataset=dataset, kind=kind)
    now = timezone.now()
    expires = now + timedelta(minutes=dataset.lease_minutes)
    with transaction.atomic():
        annotator_lock(user_id=user.pk)
        held = _held_lease(user=user, dataset=dataset, kind=kind, now=now)
        if held is not None and _finished_elsewhere(held):
            _mark_submitted(held, now)
            held = None
        if held is not None:
            held.lease_expires_at = expires
            held.save(update_fields=["lease_expires_at"])
            logger.info("queue.renewed", extra={"assignment_id": held.pk, "user_id": user.pk})
            return held
        ranking = (uncertainty_ranking(dataset=dataset, kind=kind)
                   if dataset.queue_order == Dataset.QueueOrder.UNCERTAINTY_FIRST else None)
        rejected: list[int] = []
        for _attempt in range(_MAX_ATTEMPTS):
            if ranking:
                clip = _lock_by_uncertainty(user=user, dataset=dataset, kind=kind, now=now, rejected=rejected,
                                            ranking=ranking)
            else:
                clip = _lock_breadth_first(user=user, dataset=dataset, kind=kind, now=now, rejected=rejected)
            if clip is None:
                return None
            if not _still_open(clip=clip, user=user, kind=kind, now=now):
                rejected.append(clip.pk)
                continue
            assignment = _lease(user=user, clip=clip, kind=kind, expires=expires)
            logger.info("queue.leased", extra={"assignment_id": assignment.pk, "clip_id": clip.pk,
                                               "kind": kind, "user_id": user.pk})
            return assignment
    return None


def _lease(*, user, clip: Clip, kind: str, expires) -> Assignment:
    """Create the lease, or renew this user's expired one on the clip, in one statement.

    Only an expired lease of this user can already exist here (submitted and skipped ones are
    excluded from the candidates), so the upsert never touches submitted work.
    """
    assignment = Assignment(annotator=user, clip=clip, kind=kind, state=Assignment.State.LEASED,
                            lease_expires_at=expires, item_ref="")
    Assignment.objects.bulk_create([assignment], update_conflicts=True,
                                   unique_fields=["annotator", "clip", "kind"],
                                   update_fields=["lease_expires_at", "item_ref"])
    if assignment.pk is None:  # a backend that does not return ids from an upsert
        assignment = Assignment.objects.get(annotator=user, clip=clip, kind=kind)
    assignment.clip = clip  # already read with its exercise: no second query
    return assignment


def _mark_submitted(assignment: Assignment, now) -> None:
    assignment.state = Assignment.State.SUBMITTED
    assignment.submitted_at = now
    assignment.save(update_fields=["state", "submitted_at"])


def assignment_get_for_user(*, user, assignment_id) -> Assignment:
    try:
        return Assignment.objects.select_related("clip", "clip__exercise", "clip__dataset").get(
            pk=assignment_id, annotator=user)
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"Assignment {assignment_id} not found.", code="assignment_not_found") from None


def queue_release(*, user, assignment: Assignment) -> Assignment:
    """Give a leased item back (skip it): the lease ends now and the item goes to someone else."""
    if assignment.annotator_id != user.pk:
        raise NotFoundError(f"Assignment {assignment.pk} not found.", code="assignment_not_found")
    with transaction.atomic():
        annotator_lock(user_id=user.pk)
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.state == Assignment.State.SUBMITTED:
            raise ConflictError("This item is already submitted.", code="already_submitted")
        assignment.lease_expires_at = timezone.now()
        assignment.item_ref = RELEASED
        assignment.save(update_fields=["lease_expires_at", "item_ref"])
    return assignment


def assignment_complete(*, user, assignment: Assignment) -> Assignment:
    """Close a severity lease once its votes are stored. Idempotent.

    Vote batches go through the shared ``votes/submit`` endpoint, which does not close the
    assignment; the vote page calls this right after. ``queue_next`` also closes such a lease
    itself if this call was lost.
    """
    if assignment.annotator_id != user.pk:
        raise NotFoundError(f"Assignment {assignment.pk} not found.", code="assignment_not_found")
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.state == Assignment.State.SUBMITTED:
            return assignment
        if assignment.kind != Kind.SEVERITY:
            raise DomainError(f"{assignment.kind} items are closed by their own submission.",
                              code="complete_not_supported")
        if not _finished_elsewhere(assignment):
            raise ConflictError("No votes of yours are stored for this clip yet.", code="nothing_submitted")
        _mark_submitted(assignment, timezone.now())
    return assignment


def clip_send_back(*, dataset: Dataset, clip_ids: list[int], kind: str) -> int:
    """Ask for fresh ``kind`` labels on clips (e.g. clips whose annotators disagree).

    The clips' submitted assignments of that kind stop counting toward the quota, so the queue
    hands each clip to as many new annotators as the quota asks. Their raw labels stay: the next
    aggregation sees the old and the new labels. Those annotators are never handed it again.
    Returns how many assignments were sent back.
    """
    if kind not in QUOTAS:
        raise DomainError(f"Unknown kind {kind!r}.", code="unknown_kind")
    ids = sorted({int(c) for c in clip_ids})
    if not ids:
        raise DomainError("Name at least one clip.", code="empty_submission")
    found = set(Clip.objects.filter(dataset=dataset, pk__in=ids).values_list("pk", flat=True))
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFoundError(f"Clip(s) {missing[:20]} are not in {dataset.name}.", code="clip_not_found")
    with transaction.atomic():
        clips_lock(clip_ids=ids)
        updated = Assignment.objects.filter(clip_id__in=ids, kind=kind,
                                            state=Assignment.State.SUBMITTED).exclude(
            item_ref=SENT_BACK).update(item_ref=SENT_BACK)
    logger.info("queue.sent_back", extra={"dataset_id": dataset.pk, "clips": len(ids), "kind": kind})
    return updated


def queue_progress(*, dataset: Dataset) -> dict[str, dict]:
    """Per kind: clips, clips complete, clips in progress, submitted assignments, live leases."""
    now = timezone.now()
    n_clips = Clip.objects.filter(dataset=dataset).filter(_has_media()).count()
    out = {}
    rows = (
        Assignment.objects.filter(clip__dataset=dataset).exclude(item_ref=SENT_BACK)
        .values("kind", "clip_id")
        .annotate(submitted=Count("pk", filter=Q(state=Assignment.State.SUBMITTED)),
                  leased=Count("pk", filter=Q(state=Assignment.State.LEASED, lease_expires_at__gt=now)))
    )
    per_kind: dict[str, list] = {k: [] for k in kinds_for_dataset(dataset)}
    for row in rows:
        per_kind.setdefault(row["kind"], []).append(row)
    for kind, clip_rows in per_kind.items():
        quota = QUOTAS[kind]
        complete = sum(1 for r in clip_rows if r["submitted"] >= quota)
        started = sum(1 for r in clip_rows if 0 < r["submitted"] < quota or r["leased"])
        out[kind] = {
            "quota": quota,
            "clips": n_clips,
            "complete": complete,
            "in_progress": started,
            "submitted": sum(r["submitted"] for r in clip_rows),
            "leased": sum(r["leased"] for r in clip_rows),
            "completion": (complete / n_clips) if n_clips else 0.0,
        }
    return out


def queue_open_count(*, user, dataset: Dataset, kind: str, limit: int | None = 1000) -> int:
    """How many items of ``kind`` the user could still be handed, counted up to ``limit`` (the
    home page shows "1000+": counting every open clip of a Halo-size dataset costs seconds)."""
    now = timezone.now()
    qs = candidate_clips(user=user, dataset=dataset, kind=kind, now=now).order_by()
    if limit is not None:
        qs = qs[:limit]
    return qs.count()
