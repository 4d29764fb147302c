"""``manage.py make_split --dataset NAME [--ratios 0.7,0.15,0.15] [--seed S] [--holdout-exercises a,b]
[--few-shot-k K] [--stratify exercise,skill,severity] [--label-set ID|raw]``

Runs the split in this process and prints the frozen version as JSON. ``manage.py run_job
make_split --dataset NAME --param ...`` runs the same thing as a job on the workers.
"""
import json
import time

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from datasets.selectors import dataset_get_by_name
from datasets.services.splits import split_make


class Command(BaseCommand):
    help = "Make a participant-disjoint, stratified train/val/test split and freeze it as a new split version."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--ratios", default="0.7,0.15,0.15", help="train,val,test (sum 1)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--holdout-exercises", default="", help="Comma-separated exercise slugs (zero-shot)")
        parser.add_argument("--few-shot-k", type=int, default=0, help="Clips per held-out exercise moved to train")
        parser.add_argument("--stratify", default="exercise,skill,severity")
        parser.add_argument("--label-set", default=None, help="Label-set id, or 'raw' (default: current, else raw)")
        parser.add_argument("--mixed-holdout", choices=["drop", "test"], default="drop")
        parser.add_argument("--name", default="")
        parser.add_argument("--note", default="")

    def handle(self, *args, **o):
        started = time.perf_counter()
        try:
            dataset = dataset_get_by_name(name=o["dataset"])
            version = split_make(
                dataset=dataset, ratios=o["ratios"], seed=o["seed"], holdout_exercises=o["holdout_exercises"],
                few_shot_k=o["few_shot_k"], stratify=o["stratify"], label_set=o["label_set"],
                mixed_holdout=o["mixed_holdout"], name=o["name"], note=o["note"],
                progress=lambda f, m="": self.stderr.write(f"{f * 100:5.1f}% {m}"))
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps({
            "split_version": version.pk, "version": version.version, "manifest_hash": version.manifest_hash,
            "counts": version.counts, "max_deviation": version.balance.get("max_deviation"),
            "seconds": round(time.perf_counter() - started, 2)}, indent=2))
