"""Curated corrective-feedback texts (versioned), and the feedback of a scored sample."""
import logging

from django.db import IntegrityError, transaction
from django.db.models import Max

from config.exceptions import ConflictError, DomainError
from kg.models import FEEDBACK_MAX_CHARS, FeedbackText, FlexSampleLabel
from kg.selectors import FlexSample, feedback_current_map, graph_version_current, label_set_current
from kg.services.graph import compiled_graph

logger = logging.getLogger(__name__)


def feedback_text_validate(*, error_code: str, text: str) -> tuple[str, str]:
    """Normalised (code, text); refuses a code the current graph lacks and an empty or long text."""
    code = (error_code or "").strip().upper()
    graph = compiled_graph(graph_version_current())
    if code not in graph.error_types:
        raise DomainError(f"Unknown error type {error_code!r} in the current FLEX graph.",
                          code="unknown_error_type", fields={"error_code": [f"Unknown: {error_code!r}."]})
    text = (text or "").strip()
    if not text:
        raise DomainError("The feedback text is empty.", code="empty_feedback", fields={"text": ["Required."]})
    if len(text) > FEEDBACK_MAX_CHARS:
        raise DomainError(f"The feedback text has {len(text)} characters; the limit is {FEEDBACK_MAX_CHARS}.",
                          code="feedback_too_long", fields={"text": ["Too long."]})
    return code, text


def feedback_text_create(*, error_code: str, text: str, user=None, based_on: int | None = None,
                         check_based_on: bool = True, note: str = "") -> FeedbackText:
    """Write a new version of an error type's feedback text. Nothing is ever overwritten.

    ``based_on`` is the version the editor started from (None for the first text). When another
    curator saved a newer version meanwhile, the edit is refused (409 ``stale_feedback``) instead
    of silently replacing their words. A text equal to the newest version is refused too.
    """
    code, text = feedback_text_validate(error_code=error_code, text=text)
    try:
        with transaction.atomic():
            latest = (FeedbackText.objects.select_for_update().filter(error_code=code)
                      .order_by("-version").first())
            latest_version = latest.version if latest else None
            if check_based_on and based_on != latest_version:
                raise ConflictError(
                    f"{code} feedback is at version {latest_version}; you edited version {based_on}. "
                    "Reload it and apply your change again.",
                    code="stale_feedback", fields={"current_version": latest_version},
                )
            if latest is not None and latest.text == text:
                raise DomainError(f"The text equals {code} version {latest.version}.", code="feedback_unchanged")
            created = FeedbackText.objects.create(
                error_code=code, version=(latest_version or 0) + 1, text=text, note=(note or "")[:255],
                created_by=user if user is not None and user.pk else None,
            )
    except IntegrityError:
        # Two first versions at once: nothing to lock yet, the unique constraint decides.
        current = FeedbackText.objects.filter(error_code=code).aggregate(m=Max("version"))["m"]
        raise ConflictError(f"{code} feedback changed while you saved (now version {current}).",
                            code="stale_feedback", fields={"current_version": current}) from None
    logger.info("kg.feedback_saved", extra={"error_code": code, "version": created.version})
    return created


def sample_feedback(*, sample: FlexSample) -> dict:
    """Feedback for a scored sample: the texts of its marked error types, in phase order.

    The marked slots come from the dataset's current label set when it holds the sample as final;
    otherwise from the raw labels settled now (refused with 409 when the sample is not final).
    One item per marked slot (an error type marked in two phases gives feedback in both); an
    error type without a curated text gets ``feedback: null``.
    """
    from kg.services.two_stage import sample_settle

    action = sample.action
    source, label_set_id, graph = "raw_labels", None, sample.graph
    current = label_set_current(dataset=sample.clip.dataset)
    row = None
    if current is not None:
        row = FlexSampleLabel.objects.filter(label_set=current, clip=sample.clip,
                                             status=FlexSampleLabel.Status.FINAL).first()
    if row is not None:
        graph = compiled_graph(current.graph_version)
        action = graph.actions[row.action_index - 1]
        keys, source, label_set_id = row.final, "label_set", current.pk
        version = current.graph_version.number
    else:
        state = sample_settle(sample=sample)
        if state["final"] is None:
            raise ConflictError(f"Clip {sample.clip.pk} has no final slot set yet ({state['status']}).",
                                code="sample_not_final")
        keys, version = state["final"], sample.graph_version.number
    positions = sorted(action.names[k] for k in keys)
    marked = [action.slots[p] for p in positions]
    texts = feedback_current_map(codes={s.error_type for s in marked})
    penalty = int(sum(s.weight for s in marked))
    return {
        "clip": sample.clip.pk,
        "action": action.name,
        "graph_version": version,
        "source": source,
        "label_set": label_set_id,
        "total": action.total,
        "penalty": penalty,
        "score": round(float((1 - penalty / action.total) * 100), 2),
        "items": [
            {"phase": s.phase, "slot": s.key, "error_type": s.error_type, "weight": s.weight,
             "description": graph.error_types[s.error_type][0],
             "feedback": texts[s.error_type].text if s.error_type in texts else None,
             "feedback_version": texts[s.error_type].version if s.error_type in texts else None}
            for s in marked
        ],
    }

