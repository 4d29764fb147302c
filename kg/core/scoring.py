"""Penalty-slot scoring of FLEX (seed 002, appendix 7.6, Eq. 1).

    score = (1 - sum of the marked slots' weights / action total) x 100

where the action total is the sum of the weights of all of the action's slots (a slot is a
(row, error type) pair, see :mod:`kg.core.graph`). A slot is marked at most once: naming it
twice, or by two keysteps of a merged row, still counts its weight once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kg.core.graph import ActionSpec, SlotSpec

__all__ = [
    "ScoreResult",
    "UnknownSlots",
    "resolve_slots",
    "score_from_penalty",
    "score_matrix",
    "score_slots",
]


class UnknownSlots(ValueError):
    """Some slot names are not slots of the action. ``unknown`` lists them; ``valid`` the
    action's canonical keys."""

    def __init__(self, action: ActionSpec, unknown: list[str]):
        self.action = action
        self.unknown = unknown
        self.valid = list(action.keys)
        super().__init__(f"Unknown slot(s) for {action.name}: {', '.join(unknown)}.")


def resolve_slots(action: ActionSpec, names) -> list[int]:
    """Slot positions named by ``names`` (canonical keys or merged-row aliases), sorted, unique.

    Names are matched case-insensitively after stripping blanks (``ak01:et001`` is ``AK01:ET001``).

    Raises
    ------
    UnknownSlots
        Listing every name that is not a slot of the action.
    """
    positions: set[int] = set()
    unknown: list[str] = []
    for name in names:
        normal = str(name).strip().upper()
        position = action.names.get(normal)
        if position is None:
            unknown.append(str(name))
        else:
            positions.add(position)
    if unknown:
        raise UnknownSlots(action, unknown)
    return sorted(positions)


def score_from_penalty(penalty, total):
    """FLEX Eq. 1 on arrays or scalars: ``(1 - penalty / total) * 100``."""
    penalty = np.asarray(penalty, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    if np.any(total <= 0):
        raise ValueError("An action total must be positive.")
    result = (1.0 - penalty / total) * 100.0
    return float(result) if result.ndim == 0 else result


def score_matrix(weights, marks, valid=None):
    """Penalties and scores of many slot sets at once.

    Parameters
    ----------
    weights : array_like of int, shape (n, S) or (S,)
        Slot weights, per sample (padded with 0 beyond an action's slots) or shared.
    marks : array_like of bool, shape (n, S)
        Marked slots.
    valid : array_like of bool, shape (n, S), optional
        Which slot columns exist for each sample (default: weights > 0).

    Returns
    -------
    penalty : ndarray of int64, shape (n,)
    total : ndarray of int64, shape (n,)
    score : ndarray of float64, shape (n,)
    """
    marks = np.asarray(marks, dtype=bool)
    weights = np.broadcast_to(np.asarray(weights, dtype=np.int64), marks.shape)
    valid = weights > 0 if valid is None else np.asarray(valid, dtype=bool)
    total = np.where(valid, weights, 0).sum(axis=1)
    penalty = np.where(valid & marks, weights, 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, (1.0 - penalty / np.maximum(total, 1)) * 100.0, np.nan)
    return penalty, total, score


@dataclass(frozen=True)
class ScoreResult:
    action: ActionSpec
    marked: tuple[SlotSpec, ...]
    total: int
    penalty: int
    score: float
    # (phase name, penalty of the phase's marked slots, total weight of the phase), phase order.
    penalty_by_phase: tuple[tuple[str, int, int], ...]

    def as_dict(self, *, error_types: dict[str, tuple[str, int]] | None = None) -> dict:
        """The JSON shape printed by ``kg_score`` and answered by ``POST /api/kg/score/``."""
        descriptions = error_types or {}
        return {
            "action": self.action.name,
            "action_code": self.action.code,
            "total": self.total,
            "penalty": self.penalty,
            "score": round(self.score, 2),
            "marked": [
                {"slot": s.key, "error_type": s.error_type, "keysteps": list(s.keysteps), "phase": s.phase,
                 "weight": s.weight, "description": descriptions.get(s.error_type, ("", 0))[0]}
                for s in self.marked
            ],
            "penalty_by_phase": [
                {"phase": phase, "penalty": penalty, "total": total}
                for phase, penalty, total in self.penalty_by_phase
            ],
        }


def score_slots(action: ActionSpec, names) -> ScoreResult:
    """Score one slot set of one action (FLEX Eq. 1), with the penalty of each phase.

    Raises
    ------
    UnknownSlots
        If a name is not a slot of the action.
    """
    positions = resolve_slots(action, names)
    marked = tuple(action.slots[p] for p in positions)
    total = action.total
    penalty = sum(s.weight for s in marked)
    by_phase = tuple(
        (phase.name,
         sum(s.weight for s in marked if s.phase_position == phase.position),
         sum(s.weight for s in action.slots if s.phase_position == phase.position))
        for phase in action.phases
    )
    return ScoreResult(action=action, marked=marked, total=total, penalty=penalty,
                       score=score_from_penalty(penalty, total), penalty_by_phase=by_phase)
