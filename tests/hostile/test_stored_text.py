"""Text that looks like code is stored as typed and never runs: script tags in feedback, SQL in
text fields, spreadsheet formulas in exports."""
import csv
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from annotation.models import Assignment, FeedbackNote
from datasets.exports.service import split_export
from tests.datasets.factories import frozen_split, toy_dataset
from tests.factories import ClipFactory

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQL = "'; DROP TABLE annotation_feedbacknote; --"
STATIC_JS = Path(__file__).resolve().parents[2] / "labelling_ui" / "static" / "labelling_ui" / "js"


@pytest.fixture
def note_writer(api_client_for):
    client, user = api_client_for("annotator")
    client.force_login(user)
    clip = ClipFactory()
    assignment = Assignment.objects.create(annotator=user, clip=clip, kind=Assignment.Kind.FEEDBACK,
                                           lease_expires_at=timezone.now() + timedelta(minutes=30))
    return client, clip, assignment


@pytest.mark.django_db
@pytest.mark.parametrize("text", [SCRIPT, SQL], ids=["script_tags", "sql"])
def test_feedback_text_is_stored_verbatim_and_returned_as_data(note_writer, text):
    client, clip, _ = note_writer
    response = client.post(f"/api/clips/{clip.pk}/feedback/", {"client_key": "note-key-1", "frame": 3, "text": text},
                           format="json")
    assert response.status_code == 201, response.content
    assert FeedbackNote.objects.get(clip=clip).text == text
    listed = client.get(f"/api/clips/{clip.pk}/feedback/")
    assert listed["Content-Type"] == "application/json" and listed.json()[0]["text"] == text


@pytest.mark.django_db
def test_pages_that_show_a_note_escape_it(note_writer):
    # given: a note with script tags, and the item page JSON the feedback page renders from
    client, clip, assignment = note_writer
    client.post(f"/api/clips/{clip.pk}/feedback/", {"client_key": "note-key-2", "frame": 3, "text": SCRIPT},
                format="json")
    # when
    item = client.get(f"/ui/items/{assignment.pk}/")
    page = client.get("/")
    # then: JSON carries it as data; no HTML page carries it raw
    assert item["Content-Type"].startswith("application/json")
    assert "<script>alert" not in page.content.decode()


def test_page_scripts_never_write_html_from_strings():
    # The pages put every user text in with textContent; innerHTML would run a stored script.
    offenders = [p.name for p in STATIC_JS.glob("*.js")
                 if any(s in p.read_text() for s in ("innerHTML", "outerHTML", "insertAdjacentHTML",
                                                     "document.write"))]
    assert offenders == []


@pytest.mark.django_db
def test_csv_export_escapes_spreadsheet_formulas(tmp_path):
    # given: feedback "=Keep your knees out" in the toy dataset (a formula to a spreadsheet)
    toy = toy_dataset(name="formula", n_participants=3)
    version = frozen_split(toy)
    # when
    split_export(split_version=version, fmt="csv", out=tmp_path / "out", force=True, allowed_root=tmp_path)
    # then
    with open(tmp_path / "out" / "feedback.csv", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    assert texts and all(t == "'=Keep your knees out" for t in texts)
