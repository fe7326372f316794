"""Decision-table cells in FEEL, as dmn-js writes them, decide what they say (or are refused, naming FEEL)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runtime.decisions import FEEL_PROBLEMS
from engine.runtime.feel import FeelRejected, read_entry
from engine.runtime.scripting import compile_expression
from tests.unit.dmn_support import decide

BUNDLED = Path(__file__).resolve().parents[2] / "bpmn"

TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="d" namespace="t">
  <decision id="route" name="Route">
    <decisionTable id="route_table" hitPolicy="FIRST">
      <input id="in_value" label="value"><inputExpression id="in_value_expr" typeRef="{type}">
        <text>value</text></inputExpression></input>
      <output id="out_hit" name="hit" typeRef="boolean" />
      <rule id="match"><inputEntry id="match_in"><text>{cell}</text></inputEntry>
        <outputEntry id="match_out"><text>true</text></outputEntry></rule>
      <rule id="otherwise"><inputEntry id="otherwise_in"><text>-</text></inputEntry>
        <outputEntry id="otherwise_out"><text>false</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def hits(cell: str, value, type_ref: str = "string") -> bool:
    xml = TABLE.format(cell=cell.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), type=type_ref)
    return decide(xml.encode(), value=value)["hit"]


@pytest.mark.parametrize("cell, matching, not_matching", [
    ('"average","poor"', ["average", "poor"], ["good", "excellent", "average,poor"]),
    ('"a,b", "c"', ["a,b", "c"], ["a", "b"]),
    ('not("new")', ["existing", "renewal"], ["new"]),
    ('not("new", "extension")', ["refinancing"], ["new", "extension"]),
    ('"new"', ["new"], ["News", "existing"]),
    ('!= "new"', ["existing"], ["new"]),
    ('-', ["anything", ""], []),
])
def test_text_cells(cell, matching, not_matching):
    assert [hits(cell, v) for v in matching] == [True] * len(matching)
    assert [hits(cell, v) for v in not_matching] == [False] * len(not_matching)


@pytest.mark.parametrize("cell, matching, not_matching", [
    ("[1000..5000]", [1000, 3000, 5000], [999, 5001]),
    ("(1000..5000)", [1001, 4999], [1000, 5000]),
    ("]1000..5000[", [1001, 4999], [1000, 5000]),
    ("[1000..5000)", [1000, 4999], [5000]),
    ("(1000..5000]", [5000, 1001], [1000]),
    ("<= 3000000", [3_000_000, 0], [3_000_001]),
    ("> 3000000", [3_000_001], [3_000_000, None]),
    ("= 12", [12], [13]),
    ("12, [20..30]", [12, 25], [13, 31]),
    ("not([20..30])", [19, 31], [20, 30]),
    ("< -5.5", [-6], [-5]),
    ("[1.5..2.5]", [2], [1, 3]),
])
def test_number_cells_with_open_and_closed_ends(cell, matching, not_matching):
    assert [hits(cell, v, "number") for v in matching] == [True] * len(matching)
    assert [hits(cell, v, "number") for v in not_matching] == [False] * len(not_matching)


def test_boolean_null_and_date_cells():
    assert hits("true", True, "boolean") and not hits("true", False, "boolean")
    assert hits("null", None) and not hits("null", "x")
    assert hits('>= date("2026-01-01")', "2026-03-01", "date") and not hits('>= date("2026-01-01")', "2025-12-31")
    assert hits('[date("2026-01-01")..date("2026-01-31")]', date(2026, 1, 15), "date")


def test_the_engines_question_mark_notation_still_works():
    assert hits('? in ("average", "poor")', "poor") and not hits('? in ("average", "poor")', "good")


@pytest.mark.parametrize("cell", ["average", "instance of string", "a.b", "abs(3)", "some x in y satisfies x > 1",
                                  '"a" "b"', "[1..", "[1..2}", "== 3", "not(not(1))"])
def test_anything_else_is_refused(cell):
    with pytest.raises(FeelRejected) as refused:
        read_entry(cell)
    assert refused.value.template in FEEL_PROBLEMS


def test_a_new_relationship_rated_average_is_paid_by_entrusted_payment_when_the_table_says_so_in_feel():
    """The cell dmn-js writes for 'average or poor' sends the loan to entrusted payment, not to the borrower."""
    dmn = (BUNDLED / "entrusted_payment.dmn").read_text("utf-8").replace('? in ("average", "poor")', '"average","poor"')
    loan = dict(product="working_capital", amount=1_000_000, new_relationship=True, project_investment=None)
    assert decide(dmn.encode(), **loan, rating="average")["entrusted_payment"] is True
    assert decide(dmn.encode(), **loan, rating="poor")["entrusted_payment"] is True
    assert decide(dmn.encode(), **loan, rating="good")["entrusted_payment"] is False


def test_a_cell_of_a_version_deployed_before_feel_still_runs_as_it_did():
    """Validation now refuses Python's `== "a"`; loans on a version deployed earlier keep their reading."""
    with pytest.raises(FeelRejected):
        read_entry('== "a"')
    assert hits('== "a"', "a") and not hits('== "a"', "c")


FEEL_PIECES = ['"a"', '"a,b"', "12", "-3", "1.5", "true", "null", 'date("2026-01-01")', "<", "<=", ">", ">=", "=",
               "!=", "[", "]", "(", ")", "..", ",", "not", "?", "x", ".", "-", " ", "instance of", '"', "\\"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FEEL_PIECES), max_size=8).map("".join))
def test_any_cell_is_read_or_refused_by_name_and_what_is_read_compiles(cell):
    try:
        entry = read_entry(cell)
    except FeelRejected as exc:
        assert exc.template in FEEL_PROBLEMS, exc.template  # its reason reads in the reader's language
        return
    if entry.python is not None and "?" not in cell:  # `?` cells are Python as written: validation compiles them
        compile_expression(entry.python)
