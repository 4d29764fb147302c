"""Every page renders in a real Chromium without a console error; a screenshot of each is saved
under test-output/screenshots/ for a person to look at."""
import pytest

from datasets.models import ErrorType
from tests.ui.world import flex_stage1_done, flex_world, halo_world

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fresh(ui_server):
    """Unlabelled work for the labelling pages."""
    halo = halo_world(name="ui-pages-halo", n_clips=2, seed=1)
    flex = flex_world(name="ui-pages-flex", n_clips=1)
    review = flex_world(name="ui-pages-review", n_clips=1)
    flex_stage1_done(review)
    return {"halo": halo.pk, "flex": flex.pk, "review": review.pk}


def labelling_pages(fresh):
    h = fresh["halo"]
    return [
        ("annotate-endpoints", f"/annotate/{h}/endpoints/"),
        ("annotate-severity", f"/annotate/{h}/severity/"),
        ("annotate-segments", f"/annotate/{h}/segments/"),
        ("annotate-feedback", f"/annotate/{h}/feedback/"),
        ("annotate-flex-stage1", f"/annotate/{fresh['flex']}/flex_stage1/"),
        ("annotate-flex-stage2", f"/annotate/{fresh['review']}/flex_stage2/"),
    ]


def other_pages(rich):
    d = rich["dataset"].pk
    et = ErrorType.objects.filter(exercise__dataset_id=d, code=rich["error_type_code"]).get().pk
    sets = list(rich["dataset"].label_sets.filter(kind="severity").order_by("number").values_list("pk", flat=True))
    a = b = rich["runs"][0]
    return [
        ("home", "/"),
        ("curate-index", "/curate/"),
        ("curate-overview", f"/curate/{d}/"),
        ("curate-agreement", f"/curate/{d}/agreement/?bmm={et}"),
        ("curate-reliability", f"/curate/{d}/reliability/"),
        ("curate-label-sets-compare", f"/curate/{d}/label-sets/?a={sets[0]}&b={sets[1]}"),
        ("curate-disagreements-endpoints", f"/curate/{d}/disagreements/?kind=endpoints"),
        ("curate-disagreements-severity", f"/curate/{d}/disagreements/?kind=severity"),
        ("curate-splits", f"/curate/{d}/splits/?version={rich['split_version']}"),
        ("jobs", "/jobs/"),
        ("job-detail", f"/jobs/{rich['job']}/"),
        ("runs", "/runs/"),
        ("run-detail", f"/runs/{a}/"),
        ("runs-compare", f"/runs/compare/?a={a}&b={b}"),
    ]


def test_every_labelling_page_loads_its_item_without_console_errors(open_as, fresh):
    # given
    s = open_as("admin")
    broken = {}
    # when
    for name, url in labelling_pages(fresh):
        s.console_errors.clear()
        s.goto(url)
        s.wait_ready()
        s.page.wait_for_timeout(150)
        s.shot(name)
        broken[name] = list(s.console_errors) or s.page.is_visible("#empty")
    # then: no page errored, and every page had an item to show
    assert broken == {name: False for name, _ in labelling_pages(fresh)}


def test_every_curator_and_admin_page_renders_without_console_errors(open_as, rich_world):
    # given
    s = open_as("admin")
    errors = {}
    # when
    for name, url in other_pages(rich_world):
        s.console_errors.clear()
        response = s.goto(url)
        s.page.wait_for_load_state("networkidle")
        s.shot(name)
        errors[name] = (response.status, list(s.console_errors))
    # then
    assert errors == {name: (200, []) for name, _ in other_pages(rich_world)}


def test_login_page_and_the_403_page(browser, ui_server, open_as):
    # given
    anonymous = browser.new_context(viewport={"width": 1000, "height": 700})
    page = anonymous.new_page()
    annotator = open_as("annotator")
    # when
    page.goto(ui_server + "/curate/")
    login_url = page.url
    page.screenshot(path=str(_shot_path("login")), full_page=True)
    refused = annotator.goto("/curate/")
    annotator.shot("forbidden-403")
    anonymous.close()
    # then
    assert "/accounts/login/?next=/curate/" in login_url
    assert refused.status == 403
    assert "403" in annotator.page.text_content("h1")


def _shot_path(name):
    from tests.ui.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
