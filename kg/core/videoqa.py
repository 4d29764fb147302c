"""FLEX-VideoQA-style question/answer pairs, filled from templates (no language model).

FLEX (seed 002, Sec. 3.4 and appendix 8.2, Fig. 9) builds its VideoQA dialogues along
"action recognition -> action standards -> action evaluation -> action scoring", from the
annotation rules (the knowledge graph) and the annotation results; its action-evaluation answers
were then rephrased by DeepSeek-V3. We keep the same four turns but fill every answer from
templates: the graph's keystep descriptions, the final slots, the curated feedback texts and the
score. Records follow the LLaVA conversation layout (``from: human|gpt``, ``<image>\\n`` at the
start of the first human turn; formats.md §4).
"""
from __future__ import annotations

import re

from kg.core.graph import ActionSpec, FlexGraph

__all__ = ["QUESTIONS", "TEMPLATE_VERSION", "conversation"]

TEMPLATE_VERSION = "flex-videoqa-template-1"

QUESTIONS = (
    "<image>\nWhich fitness action is the person in the video performing?",
    "What are the standards of this action, phase by phase?",
    "Evaluate the execution: which errors does the person make, and how should each be corrected?",
    "What score does this execution get on a 0 to 100 scale?",
)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# Stems too common in error descriptions to tell keystep sentences apart.
_COMMON = {"exces", "forwa", "backw", "durin", "using", "causi", "resul", "posit", "sligh", "with", "from", "into"}


def _stems(text: str) -> set[str]:
    # Crude stems (first five letters of words of four or more) are enough to link "spine" to
    # "spinal" or "lowering" to "lower" between an error and its keystep's sentences.
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4} - _COMMON


def _closest_sentence(standard: str, error: str) -> str:
    """The sentence of a keystep's standard that shares the most word stems with the error (the
    first sentence on a tie: it names the breathing, which is what breathing errors are about)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", standard.strip()) if s.strip()]
    wanted = _stems(error)
    best = max(range(len(sentences)), key=lambda i: (len(_stems(sentences[i]) & wanted), -i))
    return _sentence(sentences[best])


def _standards(action: ActionSpec, graph: FlexGraph) -> str:
    parts = [f"The {action.name} is performed in {len(action.phases)} phases."]
    seen: set[str] = set()
    for phase in action.phases:
        steps = []
        for row in phase.rows:
            for code in row.keysteps:
                if code not in seen:
                    seen.add(code)
                    steps.append(_sentence(graph.keysteps[code]))
        parts.append(f"{phase.name}: {' '.join(steps)}")
    return " ".join(parts)


def _evaluation(action: ActionSpec, graph: FlexGraph, marked: list[int], feedback: dict[str, str]) -> tuple[str, int]:
    """The evaluation answer and how many errors had no curated feedback (the keystep standard is
    quoted instead)."""
    if not marked:
        return "The execution follows the standards; no errors were observed.", 0
    fallbacks = 0
    parts = [f"{len(marked)} error{'s' if len(marked) != 1 else ''} observed."]
    for phase in action.phases:
        items = []
        seen_codes: set[str] = set()
        for p in marked:
            slot = action.slots[p]
            if slot.phase_position != phase.position or slot.error_type in seen_codes:
                continue
            seen_codes.add(slot.error_type)
            text = feedback.get(slot.error_type)
            if text:
                correction = _sentence(text)
            else:
                fallbacks += 1
                description = graph.error_types[slot.error_type][0]
                standard = " ".join(graph.keysteps[k] for k in slot.keysteps)
                correction = "Keep to the standard: " + _closest_sentence(standard, description)
            items.append(f"{_sentence(graph.error_types[slot.error_type][0])} Correction: {correction}")
        if items:
            parts.append(f"In the {phase.name} phase: " + " ".join(items))
    return " ".join(parts), fallbacks


def conversation(*, action: ActionSpec, graph: FlexGraph, marked: list[int], score: float, penalty: int,
                 feedback: dict[str, str]) -> tuple[list[dict], int]:
    """The four-turn dialogue of one sample and the number of feedback fallbacks used.

    Parameters
    ----------
    action, graph
        The sample's action in the graph version its labels were settled with.
    marked : list of int
        Slot positions of the final set.
    score, penalty
        FLEX Eq. 1 score of the final set and its penalty.
    feedback : dict
        Error-type code -> current curated feedback text.
    """
    evaluation, fallbacks = _evaluation(action, graph, sorted(marked), feedback)
    answers = (
        f"The person is performing the {action.name}.",
        _standards(action, graph),
        evaluation,
        f"The execution scores {score:.2f} out of 100: the observed errors carry {penalty} of the "
        f"{action.total} penalty points of the {action.name}.",
    )
    turns = []
    for question, answer in zip(QUESTIONS, answers):
        turns += [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    return turns, fallbacks
