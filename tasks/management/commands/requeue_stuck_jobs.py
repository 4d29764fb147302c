"""``manage.py requeue_stuck_jobs [--stale-after S] [--queued-after S]``

The periodic stuck-job check, by hand (the Celery beat entry runs it every 5 minutes).
Prints JSON: which jobs were re-queued, failed (too many lost workers) or re-sent.
"""
import json
from datetime import timedelta

from django.core.management.base import BaseCommand

from tasks.services import jobs_requeue_stuck


class Command(BaseCommand):
    help = "Re-queue jobs whose worker died (stale heartbeat) and re-send queued jobs a broker may have lost."

    def add_arguments(self, parser):
        parser.add_argument("--stale-after", type=float, default=None,
                            help="Seconds without heartbeat before a running job counts as lost "
                                 "(default FORMLAB_JOB_STALE_AFTER_S).")
        parser.add_argument("--queued-after", type=float, default=None,
                            help="Seconds a job may wait queued before its message is re-sent "
                                 "(default FORMLAB_JOB_QUEUED_RESEND_S).")

    def handle(self, *args, stale_after, queued_after, **options):
        result = jobs_requeue_stuck(
            stale_after=None if stale_after is None else timedelta(seconds=stale_after),
            queued_after=None if queued_after is None else timedelta(seconds=queued_after),
        )
        self.stdout.write(json.dumps(result))
