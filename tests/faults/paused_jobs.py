"""Jobs paused mid-way in a worker, for the tests that kill that worker: launching them, and
checking that the retry took the job over and did what an undisturbed run does."""
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from datasets.exports.service import split_export_launch
from datasets.models import SplitExport
from tasks.models import Job
from tasks.services import job_launch
from tests.conftest import wait_for_job
from tests.datasets.factories import frozen_split, toy_dataset
from tests.factories import UserFactory
from tests.faults.conftest import wait_paused


def launch_paused(kind, dataset, params, user, pause_at) -> Job:
    """Run job ``kind`` with ``params`` through ``fault_pause``, which stops it at ``pause_at``."""
    return job_launch(kind="fault_pause", dataset=dataset, user=user,
                      params={"kind": kind, "params": json.dumps(params), "pause_at": pause_at, "pause_s": 60})


def assert_taken_over(done: Job) -> None:
    """The job succeeded on its second attempt, after its first lost its worker."""
    assert done.state == Job.State.SUCCEEDED, done.error
    assert done.attempts == 2
    assert any("lost its worker" in line for line in done.log)


@dataclass
class PausedExport:
    reference: Job  # an undisturbed jsonl export of the same split
    export: SplitExport
    job: Job
    target: Path  # the export's folder, absent until the export is complete


def export_paused_mid_write(worker_factory, worker_name):
    """A frozen split, an undisturbed jsonl export of it, and a second one paused inside the
    writer on a worker of its own. Returns the worker process and the paused export."""
    toy = toy_dataset(name="killexport", n_participants=9)
    version = frozen_split(toy)
    curator = UserFactory(roles=["curator"])
    proc, _ = worker_factory(worker_name)
    reference = wait_for_job(split_export_launch(split_version=version, fmt="jsonl", user=curator).job_id)
    # the export row first, as the export API makes it, so every attempt writes the same export
    export = SplitExport.objects.create(split_version=version, format="jsonl", created_by=curator)
    job = launch_paused("export_split", toy.dataset, {"split_version": version.pk, "format": "jsonl",
                                                      "export": export.pk}, curator, pause_at=0.7)
    wait_paused(job.pk)
    return proc, PausedExport(reference=reference, export=export, job=job,
                              target=Path(settings.MEDIA_ROOT) / "exports" / str(export.pk))


def assert_export_not_visible(paused: PausedExport) -> None:
    """Neither the export's folder nor a finished export row."""
    paused.export.refresh_from_db()
    assert not paused.target.exists()
    assert paused.export.state != SplitExport.State.SUCCEEDED


def assert_export_like_reference(paused: PausedExport) -> None:
    """The export wrote the same data files as the undisturbed one."""
    ref_export = SplitExport.objects.get(pk=paused.reference.result["export"])
    paused.export.refresh_from_db()
    assert paused.target.is_dir()
    assert _data_hashes(paused.export) == _data_hashes(ref_export) != {}


def _data_hashes(export) -> dict:
    return {f["path"]: f["sha256"] for f in export.files if f["path"].endswith(".jsonl")}
