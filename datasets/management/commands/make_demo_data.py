"""``manage.py make_demo_data --dataset NAME --clips N --seed S [--no-pose] [--kind halo|flex]``"""
import importlib
import json
import resource
import time

from django.core.management.base import BaseCommand, CommandError

from audit.context import audit_context
from config.exceptions import DomainError
from datasets.models import Dataset

# Each kind names the service that writes it; the FLEX kind lives in the kg app.
GENERATORS = {
    "halo": "datasets.services.synthetic.synthetic_dataset_create",
    "flex": "kg.services.synthetic.flex_demo_create",
}


class Command(BaseCommand):
    help = "Generate a seeded synthetic dataset with simulated annotations and hidden truth."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="Name of the new dataset.")
        parser.add_argument("--clips", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--no-pose", action="store_true", help="Skip pose arrays (Halo-scale runs).")
        parser.add_argument("--kind", choices=sorted(GENERATORS), default="halo")
        parser.add_argument("--if-missing", action="store_true", help="Do nothing if the dataset exists.")

    def handle(self, *args, dataset, clips, seed, no_pose, kind, if_missing, **options):
        if clips < 1:
            raise CommandError("invalid_clips: --clips must be at least 1.")
        if if_missing and Dataset.objects.filter(name=dataset).exists():
            self.stderr.write(f"dataset {dataset!r} exists; nothing to do")
            return
        module, _, func = GENERATORS[kind].rpartition(".")
        create = getattr(importlib.import_module(module), func)
        started = time.perf_counter()

        def progress(fraction, message=""):
            self.stderr.write(f"{fraction * 100:5.1f}% {message}")

        try:
            # The generator's one audit entry names this command however it is invoked (call_command too).
            with audit_context(source="command make_demo_data"):
                created = create(name=dataset, n_clips=clips, seed=seed, with_pose=not no_pose, progress=progress)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        seconds = time.perf_counter() - started
        from datasets.services.stats import dataset_stats_compute

        stats = dataset_stats_compute(dataset=created)
        rows = stats["clips"] + stats["participants"] + stats["repetitions"] + stats["votes"] + stats["end_point_marks"]
        self.stdout.write(json.dumps({
            "dataset": created.name, "id": created.pk, "kind": kind, "seconds": round(seconds, 2),
            "clips": stats["clips"], "participants": stats["participants"], "repetitions": stats["repetitions"],
            "votes": stats["votes"], "end_point_marks": stats["end_point_marks"],
            "rows_per_second": round(rows / seconds), "peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }, indent=2))
