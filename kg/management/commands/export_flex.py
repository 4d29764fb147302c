"""``manage.py export_flex --dataset NAME --format flex|videoqa --out DIR [--label-set ID]``

``flex``: the FLEX baselines' layout (``Skeleton/A%02d/%03d/skeleton_points.csv``,
``Split_4/split_4_{train,test}_list.mat``, ``scores.csv``). ``videoqa``: FLEX-VideoQA-style
templated dialogues (``flex_videoqa.json``). Both use the dataset's current FLEX label set unless
``--label-set`` names another. Prints the manifest as JSON.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from datasets.selectors import dataset_get_by_name
from kg.exports import export_flex_layout, export_videoqa
from kg.selectors import label_set_get


class Command(BaseCommand):
    help = "Export a FLEX dataset's final samples in the FLEX layout or as FLEX-VideoQA dialogues."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=["flex", "videoqa"], required=True)
        parser.add_argument("--out", required=True, help="Output directory (new or empty).")
        parser.add_argument("--label-set", type=int, default=None, help="FLEX label set id (default: current).")

    def handle(self, *args, dataset, format, out, label_set, **options):
        try:
            ds = dataset_get_by_name(name=dataset)
            chosen = label_set_get(label_set_id=label_set) if label_set is not None else None
            export = export_flex_layout if format == "flex" else export_videoqa
            manifest = export(dataset=ds, out_dir=out, label_set=chosen)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps(manifest, indent=2))
