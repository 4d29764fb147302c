"""``manage.py export_labels --dataset NAME [--label-set ID] --out labels.csv``: a label set out as CSV."""
import json

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from datasets.selectors import dataset_get_by_name


class Command(BaseCommand):
    help = ("Export a severity label set (clip_id,rep_index,error_type,n_votes,mean,majority,bmm_score,ds_class) "
            "and the end-point label set (<out>_endpoints.csv: clip_id,count,ends,disagree,reason). Default: "
            "the current set of each kind, else the newest.")

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--label-set", type=int, default=None, help="Severity label set id.")
        parser.add_argument("--endpoint-label-set", type=int, default=None, help="End-point label set id.")
        parser.add_argument("--out", required=True, help="Path of the severity CSV.")
        parser.add_argument("--endpoints-out", default=None, help="Path of the end-point CSV.")

    def handle(self, *args, dataset, label_set, endpoint_label_set, out, endpoints_out, **options):
        from annotation.services.votes_io import labels_export

        try:
            result = labels_export(dataset=dataset_get_by_name(name=dataset), out=out, label_set_id=label_set,
                                   endpoint_label_set_id=endpoint_label_set, endpoints_out=endpoints_out)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps(result, indent=2))
