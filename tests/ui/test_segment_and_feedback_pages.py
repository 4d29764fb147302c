"""Error segments and timestamped feedback in a real Chromium."""
import pytest

from annotation.models import Assignment, ErrorSegment, FeedbackNote
from datasets.models import ErrorType
from tests.ui.helpers import press, wait_until
from tests.ui.world import halo_world

pytestmark = pytest.mark.browser


def test_segments_are_set_with_s_and_e_edited_deleted_and_submitted(open_as):
    # given
    dataset = halo_world(name="ui-seg", n_clips=1, seed=1)
    clip = dataset.clips.get()
    types = list(ErrorType.objects.filter(exercise=clip.exercise).order_by("code"))
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/segments/")
    s.wait_ready()
    page = s.page
    # when: type 1 over frames 10..30, type 2 over 40..45, type 1 again over 50..60
    press(page, "ArrowRight", 10)
    page.keyboard.press("s")
    press(page, "Shift+ArrowRight", 2)
    page.keyboard.press("e")
    page.keyboard.press("2")
    press(page, "Shift+ArrowRight", 1)
    page.keyboard.press("s")
    press(page, "ArrowRight", 5)
    page.keyboard.press("e")
    page.keyboard.press("1")
    press(page, "ArrowRight", 5)
    page.keyboard.press("s")
    press(page, "Shift+ArrowRight", 1)
    page.keyboard.press("e")
    # edit the second row's end in its field, then delete the last one with Delete
    page.locator("#segment-rows tr").nth(1).locator("input").nth(1).fill("47")
    page.locator("#segment-rows tr").nth(1).locator("input").nth(1).dispatch_event("change")
    page.locator("#segment-rows tr").nth(2).locator("button.link").click()
    page.keyboard.press("Delete")
    s.shot("segments")
    page.keyboard.press("Enter")
    # then
    assert wait_until(lambda: Assignment.objects.filter(annotator=s.user, kind="segments", state="submitted").exists(),
                      page)
    stored = sorted(ErrorSegment.objects.filter(annotator=s.user).values_list("error_type_id", "start_frame", "end_frame"))
    assert stored == sorted([(types[0].pk, 10, 30), (types[1].pk, 40, 47)])
    assert s.console_errors == []


def test_feedback_lines_are_stored_at_their_frame_as_plain_text(open_as):
    # given
    dataset = halo_world(name="ui-fb", n_clips=1, seed=1)
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/feedback/")
    s.wait_ready()
    page = s.page
    hostile = '<img src=x onerror="window.__pwned=1">Knees out & <b>chest</b> up'
    # when
    press(page, "Shift+ArrowRight", 3)
    page.keyboard.press("n")
    page.keyboard.type(hostile)
    page.keyboard.press("Enter")
    press(page, "ArrowRight", 12)
    page.keyboard.press("n")
    page.keyboard.type("Slow down the descent")
    page.keyboard.press("Enter")
    listed = page.eval_on_selector_all("#notes input[type=text]", "els => els.map(e => e.value)")
    injected = page.evaluate("window.__pwned === 1 || document.querySelector('#notes img') !== null")
    s.shot("feedback")
    page.keyboard.press("Enter")
    # then
    assert listed == [hostile, "Slow down the descent"]
    assert injected is False
    assert wait_until(lambda: FeedbackNote.objects.filter(annotator=s.user).count() == 2, page)
    assert sorted(FeedbackNote.objects.filter(annotator=s.user).values_list("frame", "text")) == [
        (30, hostile), (42, "Slow down the descent")]
    assert s.console_errors == []
