"""``load_flex_kg``: validation before writing, idempotent reloads, new versions for changed files."""
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from config.exceptions import DomainError
from kg import models
from kg.services.graph import SHIPPED_GRAPH, graph_load
from tests.kg.test_scoring_core import BAD_FILES, EXPECTED_TOTALS

GRAPH_TABLES = (models.GraphVersion, models.GraphKeystep, models.GraphErrorType, models.GraphAction,
                models.GraphPhase, models.GraphRow, models.GraphRowKeystep, models.GraphSlot)


def _counts():
    return {m.__name__: m.objects.count() for m in GRAPH_TABLES}


def _load_json(capsys_out: StringIO) -> dict:
    return json.loads(capsys_out.getvalue())


@pytest.mark.usefixtures("empty_graph_tables")
def test_loading_the_shipped_graph_writes_every_table():
    # when
    out = StringIO()
    call_command("load_flex_kg", stdout=out)
    # then
    printed = _load_json(out)
    assert printed["created"] is True and printed["graph_version"] == 1
    assert _counts() == {"GraphVersion": 1, "GraphKeystep": 56, "GraphErrorType": 63, "GraphAction": 20,
                         "GraphPhase": 60, "GraphRow": 82, "GraphRowKeystep": 87, "GraphSlot": 416}
    totals = dict(models.GraphAction.objects.values_list("name", "total_weight"))
    assert totals == EXPECTED_TOTALS
    assert models.GraphVersion.objects.get().is_current


@pytest.mark.usefixtures("empty_graph_tables")
def test_loading_the_same_file_twice_creates_nothing_new():
    # given
    graph_load()
    before = _counts()
    # when
    out = StringIO()
    call_command("load_flex_kg", str(SHIPPED_GRAPH), stdout=out)
    # then
    assert _load_json(out)["created"] is False
    assert _counts() == before


@pytest.mark.usefixtures("empty_graph_tables")
def test_reformatted_file_with_the_same_content_is_the_same_version(tmp_path):
    # given
    graph_load()
    path = tmp_path / "reformatted.json"
    path.write_text(json.dumps(json.loads(SHIPPED_GRAPH.read_text()), indent=1, sort_keys=True))
    # when
    version, created = graph_load(path=path)
    # then
    assert (version.number, created) == (1, False)


@pytest.mark.usefixtures("empty_graph_tables")
def test_a_changed_file_becomes_a_new_current_version_and_scores_name_it(tmp_path):
    # given: version 1, then a file where ET001 weighs 7 instead of 6
    graph_load()
    document = json.loads(SHIPPED_GRAPH.read_text())
    document["error_types"][0]["weight"] = 7
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(document))
    # when
    version, created = graph_load(path=path)
    out = StringIO()
    call_command("kg_score", "--action", "Standing Barbell Overhead Press", "--slot", "AK01:ET001", stdout=out)
    old = StringIO()
    call_command("kg_score", "--action", "A01", "--slot", "AK01:ET001", "--graph-version", "1", stdout=old)
    # then
    assert (version.number, created) == (2, True)
    assert list(models.GraphVersion.objects.filter(is_current=True).values_list("number", flat=True)) == [2]
    assert _load_json(out)["graph_version"] == 2 and _load_json(out)["total"] == 162
    assert _load_json(old)["graph_version"] == 1 and _load_json(old)["total"] == 161


@pytest.mark.usefixtures("empty_graph_tables")
def test_reloading_an_older_file_makes_its_version_current_again(tmp_path):
    graph_load()
    document = json.loads(SHIPPED_GRAPH.read_text())
    document["source"] = "edited"
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(document))
    graph_load(path=path)
    version, created = graph_load()
    assert (version.number, created, version.is_current) == (1, False, True)
    assert models.GraphVersion.objects.filter(is_current=True).count() == 1


@pytest.mark.usefixtures("empty_graph_tables")
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_is_refused_with_nothing_written(name, tmp_path):
    # given
    raw, expected = BAD_FILES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(raw)
    # when
    with pytest.raises(CommandError, match="graph_invalid") as info:
        call_command("load_flex_kg", str(path))
    # then
    assert expected in str(info.value)
    assert set(_counts().values()) == {0}


@pytest.mark.usefixtures("empty_graph_tables")
def test_a_bad_file_after_a_good_one_leaves_the_good_version_current(tmp_path):
    graph_load()
    path = tmp_path / "bad.json"
    path.write_text(BAD_FILES["weight_eleven"][0])
    with pytest.raises(DomainError) as info:
        graph_load(path=path)
    assert info.value.code == "graph_invalid"
    assert info.value.fields["problems"] == ["error_types[1] (ET002): weight 11 is outside 1..10."]
    assert _counts()["GraphVersion"] == 1 and models.GraphVersion.objects.get().is_current


@pytest.mark.usefixtures("empty_graph_tables")
def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="graph_file_not_found"):
        call_command("load_flex_kg", str(tmp_path / "nope.json"))
