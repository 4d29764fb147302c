"""Who may take which kind of work, how many labels an item needs, and the item_ref markers."""
from annotation.models import Assignment
from annotation.roles import ADMIN, ANNOTATOR, CURATOR, REVIEWER, has_role
from config.exceptions import DomainError, ForbiddenError
from datasets.models import Dataset

Kind = Assignment.Kind

QUOTAS: dict[str, int] = {
    Kind.ENDPOINTS: 3,
    Kind.SEVERITY: 10,
    Kind.SEGMENTS: 1,
    Kind.FEEDBACK: 1,
    Kind.FLEX_STAGE1: 3,
    Kind.FLEX_STAGE2: 3,
}

# Who may take items of a kind from the queue (curators and admins may label too).
KIND_ROLES: dict[str, tuple[str, ...]] = {
    Kind.ENDPOINTS: (ANNOTATOR, CURATOR, ADMIN),
    Kind.SEVERITY: (ANNOTATOR, CURATOR, ADMIN),
    Kind.SEGMENTS: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FEEDBACK: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FLEX_STAGE1: (ANNOTATOR, CURATOR, ADMIN),
    Kind.FLEX_STAGE2: (REVIEWER, CURATOR, ADMIN),
}

# Which kinds of work each kind of dataset offers.
DATASET_KINDS: dict[str, tuple[str, ...]] = {
    Dataset.Kind.HALO: (Kind.ENDPOINTS, Kind.SEVERITY, Kind.SEGMENTS, Kind.FEEDBACK),
    Dataset.Kind.GENERIC: (Kind.ENDPOINTS, Kind.SEVERITY, Kind.SEGMENTS, Kind.FEEDBACK),
    # FLEX error types live in the knowledge graph, not as dataset error types: no segments.
    Dataset.Kind.FLEX: (Kind.FLEX_STAGE1, Kind.FLEX_STAGE2, Kind.FEEDBACK),
}

# item_ref markers. A released lease is one the annotator skipped: it is not handed back to
# them. A sent-back assignment is one a curator asked to be labelled again by someone else.
RELEASED = "released"
SENT_BACK = "sent_back"


def kinds_for_dataset(dataset: Dataset) -> tuple[str, ...]:
    return DATASET_KINDS.get(dataset.kind, DATASET_KINDS[Dataset.Kind.GENERIC])


def may_take(user, kind: str) -> bool:
    return has_role(user, *KIND_ROLES.get(kind, ()))


def check_may_take(*, user, dataset: Dataset, kind: str) -> None:
    if kind not in QUOTAS:
        raise DomainError(f"Unknown kind {kind!r}. Known: {', '.join(QUOTAS)}.", code="unknown_kind")
    if not may_take(user, kind):
        raise ForbiddenError(f"Your role may not take {kind} items.", code="forbidden_kind")
    if kind not in kinds_for_dataset(dataset):
        raise DomainError(f"Dataset {dataset.name} has no {kind} work.", code="kind_not_in_dataset")


