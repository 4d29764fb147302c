"""``manage.py export_votes --dataset NAME --out votes.csv``: raw severity votes out, import format."""
import json

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from datasets.selectors import dataset_get_by_name


class Command(BaseCommand):
    help = "Export every severity vote of a dataset as CSV, in the format import_votes reads."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--out", required=True, help="Path of the CSV file to write.")

    def handle(self, *args, dataset, out, **options):
        from annotation.services.votes_io import votes_export

        try:
            result = votes_export(dataset=dataset_get_by_name(name=dataset), out=out)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps(result, indent=2))
