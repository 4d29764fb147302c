"""``manage.py load_flex_kg [PATH]``: validate and load the FLEX knowledge graph (default: the
shipped copy, ``kg/data/flex_kg.json``).

A refused file prints every problem and writes nothing (non-zero exit). Loading the same content
again creates nothing new; a changed file becomes a new, current graph version.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from kg.services.graph import SHIPPED_GRAPH, graph_load


class Command(BaseCommand):
    help = "Validate and load the FLEX knowledge graph; prints the version as JSON."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=None, help=f"Graph JSON file (default: {SHIPPED_GRAPH}).")

    def handle(self, *args, path, **options):
        try:
            version, created = graph_load(path=path)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps({
            "graph_version": version.number, "created": created, "is_current": version.is_current,
            "content_hash": version.content_hash, "path": str(path or SHIPPED_GRAPH), **version.counts,
        }, indent=2))
