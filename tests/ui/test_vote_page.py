"""The severity vote page in a real Chromium: number keys, a draft that survives a reload, and a
submission whose answer is lost on the way back, resent, and stored once."""
import pytest

from annotation.models import Assignment, IdempotencyRecord, SeverityVote
from datasets.models import ErrorType, Repetition
from tests.ui.helpers import wait_until
from tests.ui.world import halo_world

pytestmark = pytest.mark.browser

# Seed 1's clip is push-ups: 5 repetitions, 3 error types, 15 votes.
SEED = 1


def expected_value(rep_pos, type_pos):
    return (rep_pos + 2 * type_pos) % 4


def test_number_keys_vote_a_reload_keeps_the_draft_and_a_lost_answer_is_stored_once(open_as):
    # given
    dataset = halo_world(name="ui-votes", n_clips=1, seed=SEED)
    clip = dataset.clips.get()
    reps = list(Repetition.objects.filter(clip=clip).order_by("index"))
    types = list(ErrorType.objects.filter(exercise=clip.exercise).order_by("code"))
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/severity/")
    s.wait_ready()
    page = s.page
    keys = [str(expected_value(r, t)) for r in range(len(reps)) for t in range(len(types))]
    half = len(keys) // 2
    # when: half of the votes, then a reload in the middle
    for key in keys[:half]:
        page.keyboard.press(key)
    page.reload()
    s.wait_ready()
    restored = page.text_content("#vote-progress")
    for key in keys[half:]:
        page.keyboard.press(key)
    s.shot("severity-all-voted")
    # the first answer of the server is lost on the way back, as on a dropped connection
    calls = []

    def lose_first_answer(route):
        calls.append(route.request.post_data)
        if len(calls) == 1:
            route.fetch()  # the server stores the votes...
            route.abort("connectionreset")  # ...but the browser never hears back
        else:
            route.continue_()

    page.route("**/api/votes/submit/", lose_first_answer)
    page.keyboard.press("Enter")
    # then
    assert restored.startswith(f"{half} / {len(keys)} votes")
    assert wait_until(lambda: Assignment.objects.filter(annotator=s.user, clip=clip, state="submitted").exists(),
                      page, timeout=20)
    stored = {(v.repetition_id, v.error_type_id): v.value for v in SeverityVote.objects.filter(annotator=s.user)}
    assert stored == {(r.pk, t.pk): expected_value(i, j) for i, r in enumerate(reps) for j, t in enumerate(types)}
    assert len(calls) == 2 and calls[0] == calls[1]
    assert IdempotencyRecord.objects.filter(user=s.user, scope="votes").count() == 1
    page.wait_for_selector("#empty:not([hidden])")
    s.shot("severity-done")
    assert [e for e in s.console_errors if "ERR_CONNECTION_RESET" not in e] == []


def test_a_submission_interrupted_by_a_closed_tab_is_sent_again_on_the_next_visit(open_as):
    # given: the votes are given and Enter pressed, but the page dies before the request leaves
    dataset = halo_world(name="ui-votes-pending", n_clips=1, seed=SEED)
    clip = dataset.clips.get()
    n_votes = Repetition.objects.filter(clip=clip).count() * ErrorType.objects.filter(exercise=clip.exercise).count()
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/severity/")
    s.wait_ready()
    page = s.page
    page.route("**/api/votes/submit/", lambda route: route.abort("internetdisconnected"))
    for _ in range(n_votes):
        page.keyboard.press("2")
    page.keyboard.press("Enter")
    # (a selector, not wait_for_function: the page's CSP forbids evaluating strings)
    page.wait_for_selector("#status:has-text('retrying')")
    # when: the annotator comes back (the connection works again)
    page.unroute("**/api/votes/submit/")
    page.reload()
    s.wait_ready()
    # then
    assert wait_until(lambda: SeverityVote.objects.filter(annotator=s.user).count() == n_votes, page, timeout=20)
    assert set(SeverityVote.objects.filter(annotator=s.user).values_list("value", flat=True)) == {2}
    assert wait_until(lambda: Assignment.objects.filter(annotator=s.user, clip=clip, state="submitted").exists(), page)


def test_enter_with_votes_missing_points_at_the_first_missing_vote(open_as):
    # given
    dataset = halo_world(name="ui-votes-missing", n_clips=1, seed=SEED)
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/severity/")
    s.wait_ready()
    # when
    s.page.keyboard.press("1")
    s.page.keyboard.press("Tab")
    s.page.keyboard.press("Tab")
    s.page.keyboard.press("3")
    s.page.keyboard.press("Enter")
    # then
    assert "Vote" in s.page.text_content("#status")
    selected = s.page.locator("#error-types li.selected")
    assert selected.get_attribute("data-vote") == ""
    assert SeverityVote.objects.filter(annotator=s.user).count() == 0
    assert s.console_errors == []
