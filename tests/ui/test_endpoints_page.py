"""The end-point page in a real Chromium: keyboard-only marking, exact frames, blind to others."""
import pytest

from annotation.models import Assignment, EndPointMark
from tests.ui.helpers import press, wait_until
from tests.ui.world import halo_world

pytestmark = pytest.mark.browser


def shown_frame(page) -> int:
    return int(page.text_content("#frame-no"))


def test_marks_made_with_the_keyboard_are_stored_as_the_frames_shown(open_as):
    # given
    dataset = halo_world(name="ui-ep", n_clips=2, seed=5)
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/endpoints/")
    s.wait_ready()
    page = s.page
    # when: three ends marked with arrows, Shift+arrows and E only
    shown = []
    for steps, shifted in ((7, 1), (3, 2), (5, 4)):
        press(page, "ArrowRight", steps)
        press(page, "Shift+ArrowRight", shifted)
        page.keyboard.press("e")
        shown.append(shown_frame(page))
    press(page, "ArrowLeft", 2)
    s.shot("endpoints-marked")
    marks_listed = page.locator("#marks li").all_text_contents()
    clip_id = Assignment.objects.get(annotator=s.user, kind="endpoints").clip_id
    page.keyboard.press("Enter")
    # then
    assert wait_until(lambda: EndPointMark.objects.filter(annotator=s.user).count() == 3, page)
    stored = sorted(EndPointMark.objects.filter(annotator=s.user, clip_id=clip_id).values_list("frame", flat=True))
    assert stored == shown == [17, 40, 85]
    assert marks_listed == ["#1 · frame 17", "#2 · frame 40", "#3 · frame 85"]
    assert wait_until(lambda: Assignment.objects.filter(annotator=s.user, clip_id=clip_id,
                                                        state="submitted").exists(), page)
    page.wait_for_selector("#status:has-text('Saved')")
    assert s.console_errors == []


def test_backspace_removes_the_nearest_mark_and_a_reload_keeps_the_draft(open_as):
    # given
    dataset = halo_world(name="ui-ep-draft", n_clips=1, seed=6)
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/endpoints/")
    s.wait_ready()
    page = s.page
    for _ in range(3):
        press(page, "Shift+ArrowRight", 2)
        page.keyboard.press("e")
    # when: remove the mark nearest frame 38 (the one at 40), then reload
    press(page, "ArrowLeft", 22)
    page.keyboard.press("Backspace")
    page.reload()
    s.wait_ready()
    # then
    assert page.locator("#marks li").all_text_contents() == ["#1 · frame 20", "#2 · frame 60"]
    assert s.console_errors == []


def test_a_second_annotator_on_the_same_clip_sees_none_of_the_first_ones_marks(open_as):
    # given: the first annotator marked and submitted the only clip
    dataset = halo_world(name="ui-ep-blind", n_clips=1, seed=7)
    first = open_as("annotator")
    first.goto(f"/annotate/{dataset.pk}/endpoints/")
    first.wait_ready()
    press(first.page, "Shift+ArrowRight", 3)
    first.page.keyboard.press("e")
    first.page.keyboard.press("Enter")
    assert wait_until(lambda: EndPointMark.objects.filter(annotator=first.user).count() == 1, first.page)
    # when: a second annotator takes the clip
    second = open_as("annotator")
    second.goto(f"/annotate/{dataset.pk}/endpoints/")
    second.wait_ready()
    clip_id = Assignment.objects.get(annotator=second.user, kind="endpoints").clip_id
    listed = second.api("GET", f"/api/clips/{clip_id}/end-points/")
    second.shot("endpoints-second-annotator")
    # then
    assert clip_id == EndPointMark.objects.get(annotator=first.user).clip_id
    assert second.page.text_content("#mark-count") == "0"
    assert second.page.locator("#marks li").count() == 0
    assert listed["status"] == 200 and listed["data"]["results"] == []
    assert second.console_errors == []


def test_question_mark_shows_every_key(open_as):
    # given
    dataset = halo_world(name="ui-ep-help", n_clips=1, seed=8)
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/endpoints/")
    s.wait_ready()
    # when
    s.page.keyboard.press("?")
    s.shot("endpoints-help")
    keys = s.page.locator("#help kbd").all_text_contents()
    # then
    assert s.page.is_visible("#help")
    assert {"←", "→", "Shift+←", "Shift+→", "Space", "E", "Backspace", "Enter", "?"} <= set(keys)
    assert s.console_errors == []
