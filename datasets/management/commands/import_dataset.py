"""``manage.py import_dataset --format FORMAT --dataset NAME PATH... [options]``

Formats: repcount_a (RepCount-A CSVs), fitness_aqa (error_*.json + *_keys.json), qevd
(feedbacks_long_range.json directories), flex (Skeleton/... CSVs + split_*_list.mat), jsonl
(FormLab's own export), split_csv (clip_id,split; split only). PATHs may be files, directories
or zip/tar archives. Every file is validated before anything is written; a refusal names the
file, line and field. With ``--splits-only`` only the files' split lists are read and frozen as a
split version of the existing dataset.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from datasets.importers.writer import PARSERS, dataset_import


class Command(BaseCommand):
    help = "Import a public-format dataset (or only its split lists) into FormLab."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--format", required=True, choices=sorted(PARSERS))
        parser.add_argument("--dataset", required=True, help="Dataset name (created if missing)")
        parser.add_argument("--fps", default=None, help="Frame rate when the files do not say (default 30)")
        parser.add_argument("--clip-info", default=None, help="CSV clip_id,fps,frame_count: real clip lengths")
        parser.add_argument("--exercise", default=None, help="Fitness-AQA: squat or ohp, when the path does not say")
        parser.add_argument("--splits-only", action="store_true", help="Only import the split lists")
        parser.add_argument("--split-rule", choices=["participant", "exercise", "id_prefix", "none"], default=None,
                            help="Rule the split follows (verified). Default: the format's own")
        parser.add_argument("--split-rule-detail", default=None)
        parser.add_argument("--note", default="")

    def handle(self, *args, paths, format, dataset, splits_only, **o):
        options = {"fps": o["fps"], "clip_info": o["clip_info"], "exercise": o["exercise"],
                   "split_rule": o["split_rule"], "split_rule_detail": o["split_rule_detail"], "note": o["note"]}
        try:
            summary = dataset_import(fmt=format, dataset_name=dataset, paths=paths,
                                     options={k: v for k, v in options.items() if v not in (None, "")},
                                     splits_only=splits_only,
                                     progress=lambda f, m="": self.stderr.write(f"{f * 100:5.1f}% {m}"))
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        except Exception as exc:  # Django validators raise their own ValidationError for a bad name
            from django.core.exceptions import ValidationError

            if isinstance(exc, ValidationError):
                raise CommandError(f"invalid_dataset_name: {'; '.join(exc.messages)}") from None
            raise
        self.stdout.write(json.dumps(summary, indent=2, default=str))
