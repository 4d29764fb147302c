"""``manage.py import_votes --dataset NAME --file votes.csv``: raw severity votes in, all or nothing."""
import json

from django.core.management.base import BaseCommand, CommandError

from audit.context import audit_context
from config.exceptions import DomainError


class Command(BaseCommand):
    help = ("Import severity votes from a long-format CSV (clip_id,exercise,participant,rep_index,annotator,"
            "error_type,severity). Creates what the dataset lacks; refuses a bad file as a whole, with line numbers.")

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="Dataset name (created if new).")
        parser.add_argument("--file", required=True, help="Path of the CSV file (UTF-8).")

    def handle(self, *args, dataset, file, **options):
        from annotation.services.votes_io import votes_import

        try:
            with audit_context(source=f"manage.py import_votes {file}"):
                result = votes_import(dataset_name=dataset, path=file, progress=self.stderr.write)
        except FileNotFoundError:
            raise CommandError(f"file_not_found: {file}") from None
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps(result, indent=2))
