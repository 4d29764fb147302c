"""Celery adapters of the annotation app: take an id, call the service, nothing else."""
from celery import shared_task

# A part is one error type (~1 s at Halo scale); these limits only stop a runaway.
PART_SOFT_TIME_LIMIT_S = 600
PART_TIME_LIMIT_S = 660


@shared_task(name="annotation.aggregate_severity_part", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=PART_SOFT_TIME_LIMIT_S, time_limit=PART_TIME_LIMIT_S, ignore_result=True)
def aggregate_severity_part(part_id: int) -> None:
    """Compute one error type of a split severity run, if nobody has taken it yet.

    Safe to run twice and after its job is gone: the claim is a compare-and-set on the part row,
    and a part that was claimed, finished or deleted meanwhile is left alone.
    """
    from annotation.services.aggregation.parts import part_claim, part_run, worker_name

    me = worker_name()
    part = part_claim(worker=me, part_id=part_id)
    if part is not None:
        part_run(part=part, worker=me)
