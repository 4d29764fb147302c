"""The FLEX graph as data and penalty-slot scoring (kg.core), without a database."""
import json
from pathlib import Path

import numpy as np
import pytest

from kg.core.graph import GraphInvalid, parse_graph
from kg.core.scoring import UnknownSlots, score_from_penalty, score_matrix, score_slots

SHIPPED = Path(__file__).resolve().parents[2] / "kg" / "data" / "flex_kg.json"

# Table 10 of the FLEX paper, ET001..ET063, transcribed from the seed text.
TABLE_10_WEIGHTS = [int(w) for w in (
    "6 9 9 8 5 6 6 6 9 5 6 4 7 2 8 7 2 5 7 8 8 8 7 8 9 4 8 7 8 5 5 9 7 6 5 8 9 8 7 7 7 9 9 7 5 5 8 7 7 8 5 10 "
    "9 9 10 10 8 6 6 6 9 8 10").split()]

# Each action's total: the Table 10 weights summed over the error types of its Table 9 rows
# (an error type in two rows counts twice). Summed from the paper text, not from our JSON.
EXPECTED_TOTALS = {
    "Standing Barbell Overhead Press": 161, "Barbell Biceps Curl": 151, "Barbell Upright Row": 125,
    "Dumbbell Front Raise": 105, "Dumbbell Biceps Curl": 133, "Dumbbell Lateral Raise": 106,
    "Bent-Over Dumbbell Reverse Fly": 83, "Flat Barbell Bench Press": 131, "Incline Barbell Bench Press": 131,
    "Decline Barbell Bench Press": 131, "Flat Dumbbell Bench Press": 147, "Incline Dumbbell Bench Press": 147,
    "Dumbbell Fly": 147, "Seated Dumbbell Shoulder Press": 139, "Deadlift": 167, "Squat": 132,
    "Barbell Bent-Over Row": 157, "T-Bar Row": 157, "Dumbbell Bent-Over Row": 174,
    "Dumbbell Bent-Over Triceps Extension": 176,
}


@pytest.fixture(scope="module")
def flex():
    return parse_graph(SHIPPED.read_bytes())


def test_the_shipped_graph_holds_table_10_and_twenty_actions(flex):
    # then
    assert [flex.error_types[f"ET{i:03d}"][1] for i in range(1, 64)] == TABLE_10_WEIGHTS
    assert len(flex.keysteps) == 56
    assert [a.name for a in flex.actions] == list(EXPECTED_TOTALS)
    assert [a.code for a in flex.actions][:2] == ["A01", "A02"]


def test_every_action_total_matches_the_weights_table(flex):
    # when
    totals = {a.name: a.total for a in flex.actions}
    # then
    assert totals == EXPECTED_TOTALS


def test_overhead_press_total_written_out_row_by_row(flex):
    # given: Table 9 rows of the overhead press with Table 10 weights
    rows = [(6, 9, 9, 8), (6, 6, 6, 9), (5, 6, 4, 7), (2, 9, 5, 6, 7, 8, 7), (2, 9, 6, 7, 5, 7)]
    # then
    assert flex.action("Standing Barbell Overhead Press").total == sum(map(sum, rows)) == 161


def test_paper_figure_6_example_scores_77_02(flex):
    # given: narrow stance, open grip, trunk sway, elbow hyperextension, lowering too fast,
    # forward spinal curvature while lowering (FLEX Fig. 6)
    slots = ["AK01:ET001", "AK02:ET006", "AK04:ET005", "AK04:ET008", "AK05:ET018", "AK05:ET003"]
    # when
    result = score_slots(flex.action("Standing Barbell Overhead Press"), slots)
    # then: (1 - (6+6+5+6+5+9)/161) x 100
    assert result.penalty == 37
    assert round(result.score, 2) == 77.02


def test_one_error_type_marked_in_two_rows_counts_twice(flex):
    # given: ET003 (weight 9) in the Concentric and the Eccentric row of the overhead press
    action = flex.action("Standing Barbell Overhead Press")
    # when
    result = score_slots(action, ["AK04:ET003", "AK05:ET003"])
    # then: (1 - 18/161) x 100 = 88.8198...
    assert result.penalty == 18
    assert result.score == pytest.approx(100 * (1 - 18 / 161))
    assert [(p, pen) for p, pen, _ in result.penalty_by_phase] == [
        ("Preparation", 0), ("Concentric", 9), ("Eccentric", 9)]


def test_penalty_per_phase_and_phase_totals_follow_the_action_order(flex):
    # given: the squat goes Preparation, Eccentric, Concentric
    squat = flex.action("Squat")
    # when
    result = score_slots(squat, ["AK56:ET061", "AK44:ET056", "AK45:ET052", "AK45:ET002"])
    # then: penalties 9 | 10 | 10 + 9; phase totals from Table 9:
    # Preparation AK56 (9+9+9+8) + AK43 (6+6+5) = 52, Eccentric AK44 (2+9+5+7+7+10+10) = 50,
    # Concentric AK45 (2+9+9+10) = 30; 52 + 50 + 30 = 132
    assert result.penalty_by_phase == (("Preparation", 9, 52), ("Eccentric", 10, 50), ("Concentric", 19, 30))
    assert round(result.score, 2) == round(100 * (1 - 38 / 132), 2) == 71.21


def test_biceps_curl_hand_computed_set(flex):
    # given: AK01:ET002 (9) + AK07:ET020 (8) + AK08:ET022 (8) + AK09:ET020 (8) of 151
    result = score_slots(flex.action("Barbell Biceps Curl"), ["AK01:ET002", "AK07:ET020", "AK08:ET022", "AK09:ET020"])
    # then
    assert result.penalty == 33
    assert round(result.score, 2) == 78.15


def test_merged_row_answers_to_each_of_its_keysteps(flex):
    # given: the dumbbell biceps curl's Preparation row merges AK01, AK16 and AK07
    action = flex.action("Dumbbell Biceps Curl")
    # when
    result = score_slots(action, ["AK16:ET006", "ak01:et006", "AK07:ET008"])
    # then: one slot named twice counts once; 6 + 6 of 133
    assert [s.key for s in result.marked] == ["AK01:ET006", "AK01:ET008"]
    assert result.penalty == 12


def test_empty_set_scores_100_and_every_slot_scores_0(flex):
    action = flex.action("Deadlift")
    assert score_slots(action, []).score == 100.0
    assert score_slots(action, list(action.keys)).score == 0.0


def test_unknown_slot_lists_the_valid_ones(flex):
    action = flex.action("Standing Barbell Overhead Press")
    with pytest.raises(UnknownSlots, match="AK09:ET001") as info:
        score_slots(action, ["AK01:ET001", "AK09:ET001", "junk"])
    assert info.value.unknown == ["AK09:ET001", "junk"]
    assert "AK05:ET019" in info.value.valid and len(info.value.valid) == 25


def test_slot_keys_are_unique_within_every_action(flex):
    for action in flex.actions:
        assert len(set(action.keys)) == len(action.keys)


def test_score_matrix_matches_one_by_one_scoring(flex):
    # given: random slot sets of every action, padded to the widest action
    rng = np.random.default_rng(0)
    width = max(len(a.slots) for a in flex.actions)
    weights = np.zeros((20, width), dtype=np.int64)
    marks = np.zeros((20, width), dtype=bool)
    for i, action in enumerate(flex.actions):
        weights[i, :len(action.slots)] = action.weights()
        marks[i, :len(action.slots)] = rng.random(len(action.slots)) < 0.3
    # when
    penalty, total, score = score_matrix(weights, marks)
    # then
    expected = [score_slots(a, [a.keys[p] for p in np.flatnonzero(marks[i])]).score for i, a in enumerate(flex.actions)]
    assert score == pytest.approx(expected)
    assert total.tolist() == list(EXPECTED_TOTALS.values())
    assert score_from_penalty(37, 161) == pytest.approx(77.0186, abs=1e-4)


def _bad(mutate):
    document = json.loads(SHIPPED.read_text())
    mutate(document)
    return json.dumps(document)


BAD_FILES = {
    "bad_json": ("{not json", "Bad JSON"),
    "unknown_error_type_in_row": (
        _bad(lambda d: d["actions"][0]["phases"][0]["rows"][0]["error_types"].append("ET999")), "unknown error type"),
    "unknown_keystep_in_row": (
        _bad(lambda d: d["actions"][1]["phases"][1]["rows"][0]["keysteps"].__setitem__(0, "AK99")), "unknown keystep"),
    "duplicate_error_code": (
        _bad(lambda d: d["error_types"].append(dict(d["error_types"][0]))), "duplicate code ET001"),
    "duplicate_keystep_code": (_bad(lambda d: d["keysteps"].append(dict(d["keysteps"][3]))), "duplicate code AK04"),
    "weight_zero": (_bad(lambda d: d["error_types"][0].__setitem__("weight", 0)), "outside 1..10"),
    "weight_eleven": (_bad(lambda d: d["error_types"][1].__setitem__("weight", 11)), "outside 1..10"),
    "weight_fraction": (_bad(lambda d: d["error_types"][2].__setitem__("weight", 6.5)), "not an integer"),
    "weight_float_integral": (_bad(lambda d: d["error_types"][2].__setitem__("weight", 6.0)), "not an integer"),
    "weight_text": (_bad(lambda d: d["error_types"][3].__setitem__("weight", "8")), "not an integer"),
    "weight_bool": (_bad(lambda d: d["error_types"][3].__setitem__("weight", True)), "not an integer"),
    "action_without_slots": (
        _bad(lambda d: [r.__setitem__("error_types", []) for p in d["actions"][4]["phases"] for r in p["rows"]]),
        "has no slots"),
    "ambiguous_slot_key": (
        # AK04 now stands in two rows that both list ET003: "AK04:ET003" would name two slots.
        _bad(lambda d: d["actions"][0]["phases"][2]["rows"][0]["keysteps"].append("AK04")), "would be ambiguous"),
    "duplicate_action": (_bad(lambda d: d["actions"].append(d["actions"][0])), "appears twice"),
    "not_an_object": ("[1, 2]", "top level"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_parser_refuses_every_kind_of_bad_file(name):
    raw, expected = BAD_FILES[name]
    with pytest.raises(GraphInvalid, match=expected):
        parse_graph(raw)


def test_parser_lists_every_problem_at_once():
    # given: three independent problems
    def mutate(d):
        d["error_types"][0]["weight"] = 0
        d["keysteps"].append(dict(d["keysteps"][0]))
        d["actions"][2]["phases"][0]["rows"][0]["error_types"].append("ET777")

    # when
    with pytest.raises(GraphInvalid) as info:
        parse_graph(_bad(mutate))
    # then
    assert len(info.value.problems) == 3


def test_whitespace_and_key_order_do_not_change_the_content_hash():
    document = json.loads(SHIPPED.read_text())
    compact = json.dumps(document, separators=(",", ":"))
    reordered = json.dumps(dict(reversed(list(document.items()))), indent=4)
    assert parse_graph(compact).content_hash == parse_graph(reordered).content_hash
