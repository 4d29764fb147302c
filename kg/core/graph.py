"""The FLEX knowledge graph as plain data: parsing, validation and penalty slots.

FLEX (seed 002, appendix 7.4 and 7.6, Tables 9 and 10) ties every action to ordered phases
(Preparation, Concentric, Eccentric), each phase to rows of action keysteps (AK), and each row to
the error types (ET) an annotator can mark there; every error type carries a penalty weight.

A *slot* is one (row, error type) pair. The same error type may stand in several rows of one
action (ET003 is in the Preparation, Concentric and Eccentric rows of the overhead press), and
each of those is its own slot with its own penalty. A slot is named ``"<AK>:<ET>"`` after the
row's first keystep (its *canonical key*). Four Preparation rows of the paper merge two or three
keysteps in one cell; any keystep of such a row names the same slot (``AK16:ET006`` and
``AK01:ET006`` are one slot of the dumbbell biceps curl). The importer refuses a graph in which
any such name would point at two slots of one action.

Nothing here imports Django: the importer service validates with :func:`parse_graph` before it
writes a row, and the scoring core works from the :class:`FlexGraph` it returns.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

__all__ = [
    "ActionSpec",
    "FlexGraph",
    "GraphInvalid",
    "PhaseSpec",
    "RowSpec",
    "SlotSpec",
    "WEIGHT_MAX",
    "WEIGHT_MIN",
    "canonical_hash",
    "parse_graph",
]

WEIGHT_MIN = 1
WEIGHT_MAX = 10
KEYSTEP_CODE = re.compile(r"^AK\d{2,}$")
ERROR_CODE = re.compile(r"^ET\d{3,}$")
# Cap the size of what we are willing to parse: the real graph is 40 kB.
MAX_BYTES = 5 * 1024 * 1024


class GraphInvalid(ValueError):
    """The graph file was refused. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s): " + "; ".join(self.problems[:5]))


@dataclass(frozen=True)
class SlotSpec:
    """One penalty slot of an action: a (row, error type) pair.

    ``position`` is the slot's index within its action (phase order, then row order, then the
    error-type order of the row): arrays of marks are laid out in this order.
    """

    key: str
    position: int
    phase: str
    phase_position: int
    row_position: int
    keysteps: tuple[str, ...]
    error_type: str
    weight: int


@dataclass(frozen=True)
class RowSpec:
    position: int
    keysteps: tuple[str, ...]
    error_types: tuple[str, ...]


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    position: int
    rows: tuple[RowSpec, ...]


@dataclass(frozen=True)
class ActionSpec:
    """One action with its slots. ``index`` is 1-based, in file order (FLEX's ``A01``..``A20``)."""

    index: int
    name: str
    phases: tuple[PhaseSpec, ...]
    slots: tuple[SlotSpec, ...]
    # Every accepted slot name (canonical keys and the aliases of merged rows) -> slot position.
    names: dict[str, int] = field(repr=False, compare=False)

    @property
    def code(self) -> str:
        return f"A{self.index:02d}"

    @property
    def total(self) -> int:
        """The action's total weight: the sum of the weights of all of its slots (FLEX Eq. 1)."""
        return sum(slot.weight for slot in self.slots)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(slot.key for slot in self.slots)

    def weights(self):
        import numpy as np

        return np.array([slot.weight for slot in self.slots], dtype=np.int64)


@dataclass(frozen=True)
class FlexGraph:
    content_hash: str
    source: str
    error_types: dict[str, tuple[str, int]]  # code -> (description, weight)
    keysteps: dict[str, str]  # code -> description
    actions: tuple[ActionSpec, ...]

    @property
    def slot_count(self) -> int:
        return sum(len(a.slots) for a in self.actions)

    def action(self, name_or_code: str) -> ActionSpec | None:
        """Find an action by name (case-insensitive) or by its ``A01`` code."""
        wanted = (name_or_code or "").strip().casefold()
        for action in self.actions:
            if action.name.casefold() == wanted or action.code.casefold() == wanted:
                return action
        return None


def canonical_hash(document) -> str:
    """sha256 of the document's canonical JSON: the same graph gives the same hash whatever its
    whitespace or key order."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _is_int(value) -> bool:
    # JSON true/false are ints to Python; a weight of 6.0 is a float and is refused too.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_codes(entries, *, kind, pattern, problems, with_weight) -> dict:
    found: dict[str, object] = {}
    if not isinstance(entries, list):
        problems.append(f"'{kind}' must be a list.")
        return found
    for i, entry in enumerate(entries):
        where = f"{kind}[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be an object.")
            continue
        code = entry.get("code")
        if not isinstance(code, str) or not pattern.match(code):
            problems.append(f"{where}: code {code!r} does not look like {pattern.pattern}.")
            continue
        description = entry.get("description")
        if not isinstance(description, str) or not description.strip():
            problems.append(f"{where} ({code}): description must be a non-empty string.")
        if with_weight:
            weight = entry.get("weight")
            if not _is_int(weight):
                problems.append(f"{where} ({code}): weight {weight!r} is not an integer.")
            elif not WEIGHT_MIN <= weight <= WEIGHT_MAX:
                problems.append(f"{where} ({code}): weight {weight} is outside {WEIGHT_MIN}..{WEIGHT_MAX}.")
        if code in found:
            problems.append(f"{where}: duplicate code {code}.")
            continue
        found[code] = (description, entry.get("weight")) if with_weight else description
    return found


def _parse_action(i, raw, *, error_types, keysteps, problems) -> ActionSpec | None:
    where = f"actions[{i}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be an object.")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: name must be a non-empty string.")
        return None
    name = name.strip()
    where = f"action {name!r}"
    phases_raw = raw.get("phases")
    if not isinstance(phases_raw, list) or not phases_raw:
        problems.append(f"{where}: 'phases' must be a non-empty list.")
        return None
    phases: list[PhaseSpec] = []
    slots: list[SlotSpec] = []
    names: dict[str, int] = {}
    seen_phases: set[str] = set()
    row_position = 0
    for p, phase_raw in enumerate(phases_raw):
        if not isinstance(phase_raw, dict) or not isinstance(phase_raw.get("phase"), str) \
                or not phase_raw["phase"].strip():
            problems.append(f"{where}, phase {p + 1}: needs a 'phase' name.")
            continue
        phase_name = phase_raw["phase"].strip()
        if phase_name.casefold() in seen_phases:
            problems.append(f"{where}: phase {phase_name!r} appears twice.")
        seen_phases.add(phase_name.casefold())
        rows_raw = phase_raw.get("rows")
        if not isinstance(rows_raw, list):
            problems.append(f"{where}, {phase_name}: 'rows' must be a list.")
            continue
        rows: list[RowSpec] = []
        for r, row_raw in enumerate(rows_raw):
            here = f"{where}, {phase_name} row {r + 1}"
            if not isinstance(row_raw, dict):
                problems.append(f"{here} must be an object.")
                continue
            ks = row_raw.get("keysteps")
            ets = row_raw.get("error_types")
            if not isinstance(ks, list) or not ks or not all(isinstance(k, str) for k in ks):
                problems.append(f"{here}: 'keysteps' must be a non-empty list of codes.")
                continue
            if not isinstance(ets, list) or not all(isinstance(e, str) for e in ets):
                problems.append(f"{here}: 'error_types' must be a list of codes.")
                continue
            unknown_ks = [k for k in ks if k not in keysteps]
            unknown_et = [e for e in ets if e not in error_types]
            if unknown_ks:
                problems.append(f"{here}: unknown keystep(s) {', '.join(unknown_ks)}.")
            if unknown_et:
                problems.append(f"{here}: unknown error type(s) {', '.join(unknown_et)}.")
            if len(set(ks)) != len(ks):
                problems.append(f"{here}: a keystep is listed twice.")
            if len(set(ets)) != len(ets):
                problems.append(f"{here}: an error type is listed twice (two slots with one key).")
            if unknown_ks or unknown_et:
                continue
            row = RowSpec(position=row_position, keysteps=tuple(ks), error_types=tuple(dict.fromkeys(ets)))
            rows.append(row)
            for et in row.error_types:
                key = f"{ks[0]}:{et}"
                position = len(slots)
                slots.append(SlotSpec(
                    key=key, position=position, phase=phase_name, phase_position=len(phases),
                    row_position=row_position, keysteps=row.keysteps, error_type=et,
                    # A refused weight is reported already; 0 keeps parsing so every problem is listed.
                    weight=error_types[et][1] if _is_int(error_types[et][1]) else 0,
                ))
                for keystep in row.keysteps:
                    alias = f"{keystep}:{et}"
                    if alias in names and names[alias] != position:
                        problems.append(
                            f"{where}: slot key {alias} would be ambiguous (it names slots in two rows)."
                        )
                    names[alias] = position
            row_position += 1
        phases.append(PhaseSpec(name=phase_name, position=len(phases), rows=tuple(rows)))
    if not slots:
        problems.append(f"{where}: has no slots (no row lists an error type).")
        return None
    return ActionSpec(index=i + 1, name=name, phases=tuple(phases), slots=tuple(slots), names=names)


def parse_graph(raw: bytes | str, *, source: str = "") -> FlexGraph:
    """Parse and validate a FLEX graph file (the format of ``shared/flex/flex_kg.json``).

    Every problem is collected before giving up, so a curator fixes the file in one pass.

    Raises
    ------
    GraphInvalid
        With ``problems``: bad JSON, unknown or duplicate codes, weights that are not integers
        in 1..10, an action with no slots, a row naming an unknown keystep or error type, a slot
        key that would be ambiguous, duplicate action names.
    """
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise GraphInvalid([f"The file is {len(raw)} bytes; the limit is {MAX_BYTES}."])
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GraphInvalid([f"The file is not UTF-8 text: {exc}."]) from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GraphInvalid([f"Bad JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."]) from None
    if not isinstance(document, dict):
        raise GraphInvalid(["The top level must be a JSON object with error_types, keysteps and actions."])
    problems: list[str] = []
    for key in ("error_types", "keysteps", "actions"):
        if key not in document:
            problems.append(f"Missing top-level key {key!r}.")
    error_types = _check_codes(document.get("error_types", []), kind="error_types", pattern=ERROR_CODE,
                               problems=problems, with_weight=True)
    keysteps = _check_codes(document.get("keysteps", []), kind="keysteps", pattern=KEYSTEP_CODE,
                            problems=problems, with_weight=False)
    actions_raw = document.get("actions", [])
    actions: list[ActionSpec] = []
    if not isinstance(actions_raw, list) or not actions_raw:
        problems.append("'actions' must be a non-empty list.")
        actions_raw = []
    seen_names: set[str] = set()
    for i, action_raw in enumerate(actions_raw):
        action = _parse_action(i, action_raw, error_types=error_types, keysteps=keysteps, problems=problems)
        if action is None:
            continue
        if action.name.casefold() in seen_names:
            problems.append(f"action {action.name!r} appears twice.")
        seen_names.add(action.name.casefold())
        actions.append(action)
    if problems:
        raise GraphInvalid(problems)
    return FlexGraph(
        content_hash=canonical_hash(document),
        source=str(document.get("source", source or "")),
        error_types={code: (desc.strip(), int(w)) for code, (desc, w) in error_types.items()},
        keysteps={code: desc.strip() for code, desc in keysteps.items()},
        actions=tuple(actions),
    )
