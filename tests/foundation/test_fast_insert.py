"""insert_row writes the same row as Model.save() would."""
import pytest
from django.forms.models import model_to_dict

from annotation.models import IdempotencyRecord
from audit.models import AuditEntry
from config.fast_insert import insert_row
from tests.factories import UserFactory


@pytest.mark.django_db
def test_insert_row_stores_what_save_stores_and_sets_the_primary_key():
    user = UserFactory()
    fields = dict(user=user, scope="votes", request_hash="ab" * 32,
                  response={"stored": 2, "dataset": None, "nested": {"a": [1, 2]}})
    saved = IdempotencyRecord.objects.create(key="saved-key-1", **fields)
    inserted = IdempotencyRecord(key="inserted-key-1", **fields)
    insert_row(inserted)
    assert inserted.pk is not None and inserted.pk != saved.pk
    reread = IdempotencyRecord.objects.get(pk=inserted.pk)
    assert reread.created_at is not None and reread.created_at >= saved.created_at
    expected = model_to_dict(IdempotencyRecord.objects.get(pk=saved.pk), exclude=["id", "key"])
    assert model_to_dict(reread, exclude=["id", "key"]) == expected


@pytest.mark.django_db
def test_insert_row_handles_defaults_nulls_and_addresses():
    entry = AuditEntry(action="create", object_type="x.Y", ip_address="127.0.0.1", actor=None)
    insert_row(entry)
    reread = AuditEntry.objects.get(pk=entry.pk)
    assert reread.changes == {} and reread.actor_id is None and reread.ip_address == "127.0.0.1"
    assert reread.created_at is not None
