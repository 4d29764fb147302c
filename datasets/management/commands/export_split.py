"""``manage.py export_split --split-version ID --format FORMAT --out DIR [--force] [--param KEY=VALUE ...]``

Formats: jsonl, csv, parquet, npz, llava, qevd, flex (with the KG app), croissant. Options as
``--param``: label_set=ID|raw, endpoint_label_set=ID, balance=none|two_step|dynamic_step, balance_splits=train[,val],
seed=N, include_pose=true, max_frames=N, llava_frames=N, time_instruction=false, video_prefix=P,
qevd_span_s=S, license=SPDX. ``--out`` may not be inside the project's source tree, nor an
existing non-empty directory unless ``--force``.
"""
import json
import resource
import time

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from datasets.exports.service import FORMATS, split_export
from datasets.selectors_splits import split_version_get
from tasks.management.commands.run_job import parse_params


class Command(BaseCommand):
    help = "Export a frozen split version to a directory (README.md card and manifest.json included)."

    def add_arguments(self, parser):
        parser.add_argument("--split-version", required=True, type=int, help="Split version id")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("--out", required=True)
        parser.add_argument("--force", action="store_true", help="Replace a non-empty --out directory")
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")

    def handle(self, *args, split_version, format, out, force, param, **options):
        params = parse_params(param)
        started = time.perf_counter()
        try:
            version = split_version_get(split_version_id=split_version)
            manifest = split_export(split_version=version, fmt=format, out=out, params=params, force=force,
                                    progress=lambda f, m="": self.stderr.write(f"{f * 100:5.1f}% {m}"))
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps({
            "out": manifest["out"], "format": format, "records": manifest.get("records"),
            "files": len(manifest["files"]), "bytes": sum(f["bytes"] for f in manifest["files"]),
            "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}, indent=2))
