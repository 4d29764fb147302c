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
from annotation.services.queue.candidates import _WINDOW, candidate_clips, uncertainty_ranking
from annotation.services.queue.leases import (
    assignment_complete, assignment_get_for_user, queue_next, queue_release,
)
from annotation.services.queue.progress import clip_send_back, queue_open_count, queue_progress
from annotation.services.queue.rules import (
    DATASET_KINDS, KIND_ROLES, QUOTAS, RELEASED, SENT_BACK, kinds_for_dataset, may_take,
)

__all__ = [
    "DATASET_KINDS", "KIND_ROLES", "QUOTAS", "RELEASED", "SENT_BACK", "_WINDOW", "assignment_complete",
    "assignment_get_for_user", "candidate_clips", "clip_send_back", "kinds_for_dataset", "may_take",
    "queue_next", "queue_open_count", "queue_progress", "queue_release", "uncertainty_ranking",
]
