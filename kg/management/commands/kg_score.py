"""``manage.py kg_score --action NAME --slot AK01:ET001 [--slot AK02:ET006 AK04:ET005 ...]``

Scores one slot set with FLEX Eq. 1 against the current graph (or ``--graph-version N``) and
prints JSON: action, graph version, total, penalty, score (2 decimals), the marked slots with
their weights and phases, and the penalty per phase. An unknown action or slot exits non-zero
and lists what is valid.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from config.exceptions import DomainError
from kg.services.scoring import slot_set_score


class Command(BaseCommand):
    help = "Score a set of marked FLEX slots (KEYSTEP:ERROR) for one action; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--action", required=True,
                            help='Action name, e.g. "Standing Barbell Overhead Press", or its code A01.')
        parser.add_argument("--slot", action="extend", nargs="+", default=[], metavar="AKxx:ETyyy",
                            help="Marked slot(s); repeat the option or list several after it.")
        parser.add_argument("--graph-version", type=int, default=None, help="Graph version number (default: current).")

    def handle(self, *args, action, slot, graph_version, **options):
        slots = [part for value in slot for part in value.replace(",", " ").split()]
        try:
            result = slot_set_score(action=action, slots=slots, graph_version_number=graph_version)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps(result, indent=2))
