"""The FLEX checklist and review pages in a real Chromium: the live score is the scoring API's."""
import pytest

from annotation.models import Assignment
from kg.models import FlexReview, FlexStage1Set
from kg.selectors import sample_get_for_user
from kg.services.two_stage import stage1_submit
from tests.factories import UserFactory
from tests.ui.helpers import press, wait_until
from tests.ui.world import flex_world

pytestmark = pytest.mark.browser


def ticked_slots(page):
    return page.eval_on_selector_all("#checklist input[type=checkbox]:checked", "els => els.map(e => e.value)")


def test_the_live_score_equals_the_scoring_api_for_the_same_slots(open_as):
    # given
    dataset = flex_world(name="ui-flex", n_clips=1, action_index=1)
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/flex_stage1/")
    s.wait_ready()
    page = s.page
    scores = []
    # when: tick slots with the keyboard, comparing with the API after each change
    for moves in (1, 3, 4, 9):
        press(page, "ArrowDown", moves)
        page.keyboard.press("x")
        slots = ticked_slots(page)
        api = s.api("POST", "/api/kg/score/", {"action": "A01", "slots": slots})
        scores.append((float(page.get_attribute("#score", "data-score")), api["data"]["score"],
                       page.text_content("#penalty"), api["data"]["penalty"], api["data"]["total"]))
    feedback_codes = page.locator("#feedback li strong").all_text_contents()
    s.shot("flex-checklist")
    final_slots = ticked_slots(page)
    page.keyboard.press("Enter")
    # then
    for live, from_api, penalty_text, penalty, total in scores:
        assert live == from_api
        assert penalty_text == f"penalty {penalty} of {total}"
    assert scores[-1][1] < scores[0][1] < 100
    assert len(feedback_codes) >= 1
    assert wait_until(lambda: FlexStage1Set.objects.filter(annotator=s.user).exists(), page)
    assert FlexStage1Set.objects.get(annotator=s.user).slot_keys == final_slots
    assert s.console_errors == []


def test_a_reviewer_sees_the_three_stage1_sets_and_approves_the_proposal_with_enter(open_as):
    # given: three annotators did stage 1 of the only sample
    dataset = flex_world(name="ui-flex-review", n_clips=1, action_index=1)
    clip = dataset.clips.get()
    sets = (["AK01:ET002"], ["AK01:ET002", "AK01:ET004"], ["AK01:ET002", "AK01:ET004"])
    for i, slots in enumerate(sets):
        annotator = UserFactory(roles=["annotator"])
        Assignment.objects.create(annotator=annotator, clip=clip, kind="flex_stage1")
        stage1_submit(user=annotator, sample=sample_get_for_user(user=annotator, clip_id=clip.pk),
                      client_key=f"stage1-key-{i}", slots=slots)
    s = open_as("reviewer")
    s.goto(f"/annotate/{dataset.pk}/flex_stage2/")
    s.wait_ready()
    page = s.page
    # when
    listed = page.locator("#stage1-sets li").all_text_contents()
    proposal = ticked_slots(page)
    s.shot("flex-review")
    page.keyboard.press("Enter")
    # then
    assert [t[:2] for t in listed] == ["A:", "B:", "C:", "Pr"]
    assert proposal == ["AK01:ET002", "AK01:ET004"]
    assert wait_until(lambda: FlexReview.objects.filter(reviewer=s.user).exists(), page)
    review = FlexReview.objects.get(reviewer=s.user)
    assert review.approve is True and review.slot_keys == proposal
    assert s.console_errors == []
