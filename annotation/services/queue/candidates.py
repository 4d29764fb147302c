"""Which clips are open for a kind of work, in which order, and locking the best free one."""
import logging
import threading
import time

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField, Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.lock_objects import clip_lock_first_free
from annotation.models import Assignment
from annotation.services.queue.rules import QUOTAS, SENT_BACK, Kind
from annotation.services.uncertainty import label_set_ranking
from annotation.services.queue.sql import clip_id_sql, holders_sql, lock_first_free_in, not_done_by_sql
from datasets.models import Clip, Dataset, ErrorType, Exercise, Repetition

logger = logging.getLogger("annotation.services.queue")


def _holders(*, kind: str, now) -> RawSQL:
    return RawSQL(*holders_sql(kind=kind, now=now), output_field=IntegerField())


def _count_subquery(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("clip_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _stage1_submitted() -> QuerySet:
    return Assignment.objects.filter(clip_id=OuterRef("pk"), kind=Kind.FLEX_STAGE1,
                                     state=Assignment.State.SUBMITTED).exclude(item_ref=SENT_BACK)


def has_media() -> Q:
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
        clips.filter(has_media())
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
    return qs.filter(RawSQL(*not_done_by_sql(user=user, kind=kind), output_field=BooleanField()))


def _ordered(qs: QuerySet, *, dataset: Dataset, kind: str) -> QuerySet:
    return qs.order_by("-holders", "pk")


# ---------------------------------------------------------------- breadth first, windowed

# The shared window: the best ``_WINDOW`` open clips of a (dataset, kind). Ranking every clip of
# a dataset costs a scan of the dataset (about 0.1 s at Halo scale, 84,608 clips); with fifty
# annotators asking at once that scan would be the whole cost of ``next``. Inside the window the
# order is exact (live holder counts); a window that holds nothing for this annotator falls back
# to the full query, so no item is ever out of reach.
#
# The first request of a process computes the window; after ``_WINDOW_FRESH_S`` a request still
# uses it but starts a thread that ranks the dataset again, so no request waits for that scan
# (stale while revalidating). A window ``_WINDOW_KEEP_S`` old is not used at all.
_WINDOW = 200
_WINDOW_FRESH_S = 5.0
_WINDOW_KEEP_S = 60.0

# One thread per process computes a missing window; the others wait for it instead of running
# the same dataset scan side by side (fifty annotators starting at once would otherwise make
# every thread of every worker scan the dataset at the same instant). The query takes no row
# lock, so the thread holding this lock never waits on another transaction.
_window_recompute = threading.Lock()
_in_progress: set[str] = set()  # cache keys a thread of this process is computing right now


def _best_open_clips(*, dataset: Dataset, kind: str) -> list[int]:
    return list(_open_clips(dataset=dataset, kind=kind, now=timezone.now()).order_by("-holders", "pk")
                .values_list("pk", flat=True)[:_WINDOW])


def _store(key: str, ids: list[int]) -> None:
    cache.set(key, (time.time(), ids), _WINDOW_KEEP_S)


def _in_background(key: str, compute) -> None:
    """Run ``compute()`` in a thread of this process, unless one already computes ``key``."""
    with _window_recompute:
        if key in _in_progress:
            return
        _in_progress.add(key)

    def run():
        try:
            compute()
        except Exception:  # what was there stays in use; a later request tries again
            logger.exception("queue.background_failed", extra={"key": key})
        finally:
            connection.close()  # this thread's own connection
            with _window_recompute:
                _in_progress.discard(key)

    threading.Thread(target=run, daemon=True).start()


def _window(*, dataset: Dataset, kind: str) -> list[int]:
    key = f"formlab:queue:window:{dataset.pk}:{dataset.created_at.timestamp()}:{kind}"
    entry = cache.get(key)
    if entry is None:
        with _window_recompute:
            entry = cache.get(key)
            if entry is None:
                ids = _best_open_clips(dataset=dataset, kind=kind)
                _store(key, ids)
                return ids
    computed_at, ids = entry
    if time.time() - computed_at > _WINDOW_FRESH_S:
        _in_background(key, lambda: _store(key, _best_open_clips(dataset=dataset, kind=kind)))
    return ids


def _in_ids(ids: list[int]):
    """A filter on the clip id being one of ``ids``.

    On PostgreSQL the ids travel as one array parameter (``id = ANY(%s)``, an index condition):
    hundreds of ``IN`` placeholders cost more to build and parse than the query costs to run.
    """
    if connection.vendor == "postgresql":
        return RawSQL(f"{clip_id_sql()} = ANY(%s)", (ids,), output_field=BooleanField())
    return Q(pk__in=ids)


def _rank_in(ids: list[int]):
    """An ordering by position in ``ids`` (first id first)."""
    if connection.vendor == "postgresql":
        return RawSQL(f"array_position(%s::bigint[], {clip_id_sql()})", (ids,), output_field=IntegerField())
    return Case(*[When(pk=clip_id, then=Value(i)) for i, clip_id in enumerate(ids)], output_field=IntegerField())


def _with_exercise(clip: Clip) -> Clip:
    # The locking queries join nothing (not even the exercise): on a freshly imported dataset,
    # whose statistics are not gathered yet, a join let the planner walk clips by exercise
    # instead of by id (22 ms instead of 2 ms on 2,000 clips). The answer names the exercise.
    clip.exercise = Exercise.objects.get(pk=clip.exercise_id)
    return clip


def lock_breadth_first(*, user, dataset: Dataset, kind: str, now, rejected: list[int]) -> Clip | None:
    window = _window(dataset=dataset, kind=kind)
    if window:
        # Of the window's conditions only the holder count changes within its lifetime, so only
        # that one is evaluated again here (and once more under the clip's lock, sql.lease_if_open).
        clip = lock_first_free_in(ids=window, user=user, kind=kind, quota=QUOTAS[kind], now=now, rejected=rejected)
        if clip is not None:
            return clip
    candidates = candidate_clips(user=user, dataset=dataset, kind=kind, now=now).exclude(pk__in=rejected)
    return clip_lock_first_free(candidates=candidates)


# ---------------------------------------------------------------- uncertainty first

# How many ranked clips one locking query looks at. Ranked clips that are already full or done
# by this annotator are filtered out by the same query, so a window rarely comes back empty.
_RANK_WINDOW = 500


def uncertainty_ranking(*, dataset: Dataset, kind: str) -> list[int] | None:
    """Clip ids of ``dataset``, least sure first, from the current label set of ``kind``
    (``annotation.services.uncertainty``). Clips missing from the label set are not ranked
    (they come after, breadth first).

    The ranking is written with the label set; each process reads it once and caches it by
    label-set id (a label set never changes). None when the dataset has no current label set of
    that kind.
    """
    from annotation.models import LabelSet

    set_kind = {Kind.SEVERITY: LabelSet.Kind.SEVERITY, Kind.ENDPOINTS: LabelSet.Kind.ENDPOINTS}.get(kind)
    if set_kind is None:
        return None
    label_set = LabelSet.objects.filter(dataset=dataset, kind=set_kind, is_current=True).first()
    if label_set is None:
        return None
    # The id alone could come back after a rolled-back transaction (SQLite reuses rowids).
    key = f"formlab:queue:uncertainty:{label_set.pk}:{label_set.input_hash[:16]}:{label_set.created_at.timestamp()}"
    ranking = cache.get(key)
    if ranking is None:
        with _ranking_compute:  # one thread of a process reads (or ranks); the others wait for it
            ranking = cache.get(key)
            if ranking is None:
                ranking = label_set_ranking(label_set)
                cache.set(key, ranking, None)
    return ranking


# Reading a Halo-size ranking (63,000 clip ids) takes milliseconds, ranking a label set that was
# written without one (before rankings were stored) a few hundred: fifty threads must not each
# spend that at once.
_ranking_compute = threading.Lock()


def lock_by_uncertainty(*, user, dataset: Dataset, kind: str, now, rejected: list[int],
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


