"""Reads of hidden truth. Only curator/admin views and evaluation code call these."""
from config.exceptions import NotFoundError
from datasets.models import ClipTruth, TrueSeverity


def clip_truth_get(*, clip) -> dict:
    truth = ClipTruth.objects.filter(clip=clip).first()
    if truth is None:
        raise NotFoundError("This clip has no hidden truth (not synthetic).", code="truth_not_found")
    severities = TrueSeverity.objects.filter(repetition__clip=clip).values(
        "repetition_id", "repetition__index", "error_type_id", "severity"
    )
    return {
        "clip": clip.pk,
        "true_starts": truth.true_starts,
        "true_ends": truth.true_ends,
        "severities": [
            {"repetition": s["repetition_id"], "index": s["repetition__index"],
             "error_type": s["error_type_id"], "severity": s["severity"]}
            for s in severities
        ],
    }
