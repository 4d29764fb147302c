"""Loading the FLEX knowledge graph into the database, and the compiled graph used for scoring."""
import functools
import json
import logging
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max

from config.exceptions import DomainError, NotFoundError
from kg.core.graph import FlexGraph, GraphInvalid, parse_graph
from kg.models import (
    GraphAction,
    GraphErrorType,
    GraphKeystep,
    GraphPhase,
    GraphRow,
    GraphRowKeystep,
    GraphSlot,
    GraphVersion,
)

logger = logging.getLogger(__name__)

SHIPPED_GRAPH = Path(__file__).resolve().parent.parent / "data" / "flex_kg.json"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"No graph file at {path}.", code="graph_file_not_found") from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise DomainError(f"Cannot read {path}: {exc}.", code="graph_file_unreadable") from None


def graph_parse(*, raw: bytes, path: str = "") -> FlexGraph:
    """Validate a graph file; a refusal lists every problem (code ``graph_invalid``)."""
    try:
        return parse_graph(raw, source=path)
    except GraphInvalid as exc:
        listed = "\n".join(f"  - {p}" for p in exc.problems)
        raise DomainError(
            f"The graph file{' ' + path if path else ''} was refused with {len(exc.problems)} problem(s); "
            f"nothing was written:\n{listed}",
            code="graph_invalid", fields={"problems": exc.problems},
        ) from None


def _write_version(*, graph: FlexGraph, document, path: str, user) -> GraphVersion:
    number = (GraphVersion.objects.aggregate(m=Max("number"))["m"] or 0) + 1
    version = GraphVersion.objects.create(
        number=number, content_hash=graph.content_hash, source=graph.source[:500], path=path[:500],
        document=document, loaded_by=user if user is not None and user.pk else None,
        counts={"actions": len(graph.actions), "error_types": len(graph.error_types),
                "keysteps": len(graph.keysteps), "slots": graph.slot_count},
    )
    keysteps = {
        ks.code: ks for ks in GraphKeystep.objects.bulk_create(
            GraphKeystep(graph_version=version, code=code, description=desc) for code, desc in graph.keysteps.items()
        )
    }
    error_types = {
        et.code: et for et in GraphErrorType.objects.bulk_create(
            GraphErrorType(graph_version=version, code=code, description=desc, weight=weight)
            for code, (desc, weight) in graph.error_types.items()
        )
    }
    actions = GraphAction.objects.bulk_create(
        GraphAction(graph_version=version, index=a.index, name=a.name, total_weight=a.total) for a in graph.actions
    )
    phases = GraphPhase.objects.bulk_create(
        GraphPhase(action=db_action, position=p.position, name=p.name)
        for db_action, a in zip(actions, graph.actions) for p in a.phases
    )
    phase_of = {(ph.action_id, ph.position): ph for ph in phases}
    row_specs = [(db_action, p, r) for db_action, a in zip(actions, graph.actions) for p in a.phases for r in p.rows]
    rows = GraphRow.objects.bulk_create(
        GraphRow(phase=phase_of[(db_action.pk, p.position)], position=r.position) for db_action, p, r in row_specs
    )
    GraphRowKeystep.objects.bulk_create(
        GraphRowKeystep(row=row, keystep=keysteps[code], position=i)
        for row, (_, _, r) in zip(rows, row_specs) for i, code in enumerate(r.keysteps)
    )
    row_of = {(db_action.pk, r.position): row for row, (db_action, _, r) in zip(rows, row_specs)}
    GraphSlot.objects.bulk_create(
        GraphSlot(action=db_action, row=row_of[(db_action.pk, s.row_position)], error_type=error_types[s.error_type],
                  position=s.position, key=s.key, weight=s.weight)
        for db_action, a in zip(actions, graph.actions) for s in a.slots
    )
    return version


def _make_current(version: GraphVersion) -> None:
    GraphVersion.objects.filter(is_current=True).exclude(pk=version.pk).update(is_current=False)
    if not version.is_current:
        version.is_current = True
        version.save(update_fields=["is_current"])


def graph_load(*, path: str | Path | None = None, user=None) -> tuple[GraphVersion, bool]:
    """Load a FLEX graph file (default: the shipped copy) and make it the current version.

    The whole file is validated before anything is written; a refused file leaves the database
    as it was. The same content (canonical-JSON sha256) loaded again creates nothing: its existing
    version becomes current. Returns (version, created).
    """
    path = Path(path) if path else SHIPPED_GRAPH
    raw = _read(path)
    graph = graph_parse(raw=raw, path=str(path))
    document = json.loads(raw)
    try:
        with transaction.atomic():
            existing = GraphVersion.objects.select_for_update().filter(content_hash=graph.content_hash).first()
            created = existing is None
            version = existing or _write_version(graph=graph, document=document, path=str(path), user=user)
            _make_current(version)
    except IntegrityError:
        # Another loader wrote the same content at the same moment: use theirs.
        version, created = GraphVersion.objects.get(content_hash=graph.content_hash), False
        with transaction.atomic():
            _make_current(GraphVersion.objects.select_for_update().get(pk=version.pk))
    logger.info("kg.graph_loaded", extra={"graph_version": version.number, "graph_created": created})
    return version, created


def graph_version_set_current(*, version: GraphVersion) -> GraphVersion:
    with transaction.atomic():
        version = GraphVersion.objects.select_for_update().get(pk=version.pk)
        _make_current(version)
    return version


@functools.lru_cache(maxsize=16)
def _compile(version_id: int, content_hash: str) -> FlexGraph:
    document = GraphVersion.objects.only("document").get(pk=version_id).document
    return parse_graph(json.dumps(document))


def compiled_graph(version: GraphVersion) -> FlexGraph:
    """The scoring core's view of a stored version (parsed once per process; versions never change)."""
    return _compile(version.pk, version.content_hash)
