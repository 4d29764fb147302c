"""Binary COPY writes the same rows as the CSV path, and steps aside for what it cannot encode."""
from datetime import datetime, timezone

import numpy as np
import pytest
from django.db import connection

from annotation.models import SeverityVote
from datasets.bulk import bulk_insert
from datasets.copy_binary import binary_rows
from tests.factories import ErrorTypeFactory, RepetitionFactory, UserFactory


def _postgres_types():
    """PostgreSQL's backend, for its column types only (it never connects)."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    return DatabaseWrapper(dict(connection.settings_dict, ENGINE="django.db.backends.postgresql"), alias="types")


def test_only_integer_arrays_and_constants_are_encoded():
    postgres = _postgres_types()
    fine = {"repetition_id": np.array([1, 2]), "value": np.array([0, 3], dtype=np.int16), "client_key": "k",
            "created_at": "2026-11-23T23:00:00.123456+00:00"}
    payload = binary_rows(SeverityVote, postgres, fine, 2)
    assert payload.startswith(b"PGCOPY\n\xff\r\n\x00") and payload.endswith(b"\xff\xff")
    # 2 rows x (2 + 4 fields x 4 length bytes) + 8 + 2 + 1 + 8 value bytes, plus 19 header and 2 trailer bytes
    assert len(payload) == 19 + 2 * (2 + 16 + 8 + 2 + 1 + 8) + 2
    assert binary_rows(SeverityVote, postgres, dict(fine, client_key=np.array(["a", "b"])), 2) is None
    assert binary_rows(SeverityVote, postgres, dict(fine, created_at="2026-11-23T23:00:00"), 2) is None
    assert binary_rows(SeverityVote, postgres, dict(fine, value=np.array([0.5, 1.0])), 2) is None


@pytest.mark.django_db
def test_bulk_insert_stores_exactly_the_given_values():
    reps = [RepetitionFactory(index=i) for i in range(3)]
    error_type = ErrorTypeFactory(exercise=reps[0].clip.exercise)
    users = [UserFactory() for _ in range(2)]
    moment = datetime(2026, 11, 23, 23, 0, 0, 123456, tzinfo=timezone.utc)
    rep_ids = np.array([r.pk for r in reps for _ in users], dtype=np.int64)
    user_ids = np.array([u.pk for _ in reps for u in users], dtype=np.int64)
    values = np.array([0, 1, 2, 3, 1, 0], dtype=np.int16)
    bulk_insert(SeverityVote, {"repetition_id": rep_ids, "error_type_id": error_type.pk, "annotator_id": user_ids,
                               "value": values, "client_key": "import:0123456789abcdef",
                               "created_at": moment.isoformat() if connection.vendor == "postgresql" else
                               connection.ops.adapt_datetimefield_value(moment)}, n_rows=6)
    stored = list(SeverityVote.objects.order_by("repetition_id", "annotator_id").values_list(
        "repetition_id", "error_type_id", "annotator_id", "value", "client_key", "created_at"))
    expected = sorted(zip(rep_ids.tolist(), [error_type.pk] * 6, user_ids.tolist(), values.tolist(),
                          ["import:0123456789abcdef"] * 6, [moment] * 6), key=lambda row: (row[0], row[2]))
    assert stored == expected
