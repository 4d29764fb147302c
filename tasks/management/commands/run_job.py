"""``manage.py run_job KIND --dataset NAME [--param KEY=VALUE ...] [--wait]``"""
import json
import time

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from datasets.selectors import dataset_get_by_name
from tasks import registry
from tasks.models import Job
from tasks.services import job_launch


def parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"malformed_param: {pair!r} is not KEY=VALUE.")
        if key in params:
            raise CommandError(f"malformed_param: {key!r} given twice.")
        params[key.strip()] = value
    return params


class Command(BaseCommand):
    help = "Launch a job on the Celery workers; with --wait, follow it and print its result as JSON."

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("--dataset", help="Dataset name.")
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--wait", action="store_true", help="Follow progress until the job ends.")
        parser.add_argument("--timeout", type=float, default=None, help="Give up waiting after N seconds.")

    def handle(self, *args, kind, dataset, param, wait, timeout, **options):
        params = parse_params(param)
        try:
            job_kind = registry.get_kind(kind)
            dataset_obj = dataset_get_by_name(name=dataset) if dataset else None
            job = job_launch(kind=job_kind.name, dataset=dataset_obj, params=params, check_role=False)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stderr.write(f"job {job.pk} {kind} queued on '{job.queue}'")
        if not wait:
            self.stdout.write(json.dumps({"job": job.pk, "state": job.state}))
            return
        self._follow(job, timeout)

    def _follow(self, job: Job, timeout):
        started = time.monotonic()
        last = None
        while True:
            job.refresh_from_db()
            shown = (job.state, round(job.progress, 3), job.progress_message)
            if shown != last:
                self.stderr.write(f"[{job.state}] {job.progress * 100:5.1f}% {job.progress_message}")
                last = shown
            if job.state in Job.FINISHED_STATES:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                raise CommandError(f"timeout: job {job.pk} still {job.state} after {timeout:.0f}s.")
            time.sleep(0.5)
        body = {"job": job.pk, "kind": job.kind, "state": job.state, "result": job.result,
                "duration_s": job.duration_s}
        if job.state != Job.State.SUCCEEDED:
            body["error"] = job.error
            self.stdout.write(json.dumps(body, indent=2))
            raise CommandError(f"job_{job.state}: {job.error or job.state}")
        self.stdout.write(json.dumps(body, indent=2))
