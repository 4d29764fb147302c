"""The work queue's hand-written hot path: what ``next`` hands back, and waiting for a locked clip."""
import threading
import time

import pytest
from django.db import connection, transaction

from annotation.apis_queue import QueueItemOutput, queue_item
from annotation.lock_objects import clip_lock
from annotation.models import Assignment
from annotation.services.queue import queue_next
from datasets.models import Clip
from tests.annotation.test_queue import K, annotators, make_clips


@pytest.mark.django_db
def test_next_hands_back_the_lease_clip_and_exercise_as_stored(django_assert_num_queries):
    # given
    dataset, (clip,) = make_clips(1)
    user, = annotators(1)
    # when
    lease = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then: the values read by hand-written SQL equal what the ORM reads
    stored = Assignment.objects.select_related("clip__exercise").get(pk=lease.pk)
    assert (lease.clip_id, lease.kind, lease.state, lease.item_ref) == (clip.pk, K.ENDPOINTS, "leased", "")
    assert lease.created_at == stored.created_at
    assert lease.lease_expires_at == stored.lease_expires_at
    assert lease.clip.created_at == stored.clip.created_at
    assert (lease.clip.external_id, lease.clip.fps, lease.clip.pose_file.name) == (
        stored.clip.external_id, stored.clip.fps, stored.clip.pose_file.name)
    with django_assert_num_queries(0):  # the exercise's name came with the clip
        assert lease.clip.exercise.name == stored.clip.exercise.name


@pytest.mark.django_db
def test_renewing_an_expired_lease_keeps_its_row_and_creation_time():
    # given: a user whose lease on the only clip expired
    dataset, (clip,) = make_clips(1)
    user, = annotators(1)
    first = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    Assignment.objects.filter(pk=first.pk).update(lease_expires_at=first.created_at)
    # when
    again = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    assert again.pk == first.pk and again.created_at == first.created_at
    assert Assignment.objects.get(pk=first.pk).lease_expires_at > first.created_at
    assert Assignment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_next_waits_for_a_clip_another_transaction_holds_instead_of_answering_none():
    # given: another transaction holds the only open clip locked for a moment
    dataset, (clip,) = make_clips(1)
    user, = annotators(1)
    locked, hold_s = threading.Event(), 0.5

    def hold():
        try:
            with transaction.atomic():
                clip_lock(clip_id=clip.pk)
                locked.set()
                time.sleep(hold_s)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=10)
    # when
    started = time.perf_counter()
    lease = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    waited = time.perf_counter() - started
    holder.join(timeout=10)
    # then: it waited for the lock and got the clip
    assert lease is not None and lease.clip_id == clip.pk
    assert waited >= hold_s * 0.5


@pytest.mark.django_db
@pytest.mark.parametrize("video", ["", "video/clip.mp4"])
def test_the_next_answer_is_what_the_item_serializer_makes(video):
    # given: a fresh lease and a renewed one (its expiry set with microseconds)
    dataset, (clip,) = make_clips(1)
    Clip.objects.filter(pk=clip.pk).update(video_file=video, fps=29.97)
    user, = annotators(1)
    fresh = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    renewed = queue_next(user=user, dataset=dataset, kind=K.ENDPOINTS)
    # then
    for lease in (fresh, renewed):
        assert queue_item(lease) == QueueItemOutput(lease).data
    assert queue_item(renewed)["clip"]["has_video"] is bool(video)


@pytest.mark.django_db(transaction=True)
def test_a_stale_window_is_still_used_while_a_thread_ranks_the_dataset_again():
    from django.core.cache import cache

    from annotation.services.queue import candidates

    # given: a window computed long ago that names only the first of three open clips
    dataset, clips = make_clips(3)
    key = f"formlab:queue:window:{dataset.pk}:{dataset.created_at.timestamp()}:{K.ENDPOINTS}"
    cache.set(key, (time.time() - 10 * candidates._WINDOW_FRESH_S, [clips[0].pk]), 60)
    # when
    ids = candidates._window(dataset=dataset, kind=K.ENDPOINTS)
    # then: the stale window answers at once, and a thread ranks the dataset again
    assert ids == [clips[0].pk]
    deadline = time.time() + 10
    while key in candidates._in_progress and time.time() < deadline:
        time.sleep(0.02)
    computed_at, fresh = cache.get(key)
    assert time.time() - computed_at < candidates._WINDOW_FRESH_S
    assert fresh == [c.pk for c in clips]

