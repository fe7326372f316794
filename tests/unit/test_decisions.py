"""Decision tables at deployment: unreadable cells named by row and input; tiers the policy refuses, by both files."""
from __future__ import annotations

import inspect
import itertools
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.clock import ManualClock
from engine.i18n import translations
from engine.roles import LANE_ROLES
from engine.runtime.decisions import decision_problems
from engine.runtime.parser import SourceFile, parse_bundle
from engine.runtime.scripting import RestrictedScriptEngine
from engine.runtime.specs import collect_files
from engine.runtime.validation import validate_files
from policies.loader import default_policy

BUNDLED = Path(__file__).resolve().parents[2] / "bpmn"


def problems_in(files):
    """Every problem validation and the decision checks find (validation takes the policy or the lane roles)."""
    takes_policy = "policy" in inspect.signature(validate_files).parameters
    bundle, problems = validate_files(files, default_policy() if takes_policy else LANE_ROLES)
    extra = decision_problems(bundle, default_policy()) if bundle else []
    return problems + [p for p in extra if p not in problems]


def validate(files):
    """Every problem validation and the decision checks find, as the English text."""
    return [str(p) for p in problems_in(files)]


def bundled(name: str, old: str, new: str) -> list[SourceFile]:
    files = collect_files([BUNDLED])
    for f in files:
        if f.name == name:
            text = f.data.decode("utf-8")
            assert old in text, old
            f.data = text.replace(old, new, 1).encode("utf-8")
    return files


def test_the_bundled_tables_are_valid():
    assert validate(collect_files([BUNDLED])) == []


def test_a_cell_in_feel_the_engine_does_not_run_is_refused_naming_feel_row_and_input():
    problems = validate(bundled("entrusted_payment.dmn", '? in ("average", "poor")', "instance of string"))
    assert len(problems) == 1
    assert problems[0].startswith("entrusted_payment.dmn, line 76, element 'rule_wc_new_average_in4': row 2, "
                                  "input '借款人评级': FEEL expression 'instance of string' is not supported"), problems


def test_an_unquoted_text_is_refused_with_the_quoted_spelling():
    problems = validate(bundled("approval_tier.dmn", "<text>\"new\"</text>", "<text>new</text>"))
    assert len(problems) == 1 and "row 1, input '贷款类型': FEEL expression 'new'" in problems[0]
    assert 'write "new"' in problems[0]


def test_a_dual_signature_limit_above_the_policy_is_refused_naming_both_files_and_numbers():
    problems = validate(bundled("approval_tier.dmn", "&lt;= 3000000", "&lt;= 5000000"))
    assert problems == ["approval_tier.dmn, line 29, element 'rule_new_dual_signature': approval_tier.dmn row 1 sends "
                        "loans up to 5,000,000 to dual_signature, but policy 2026.3 (policies/default.yaml) caps "
                        "dual_signature at 3,000,000"]


def test_a_risk_manager_reads_the_approval_tier_problem_in_chinese():
    problems = problems_in(bundled("approval_tier.dmn", "&lt;= 3000000", "&lt;= 5000000"))
    assert [p.text(translations("zh_CN").gettext) for p in problems] == [
        "决策表 approval_tier.dmn 第 1 行将 5,000,000 元以内的贷款送往双签（dual_signature），"
        "但策略 2026.3（policies/default.yaml）规定双签上限为 3,000,000 元"]


def test_a_refused_cell_and_its_reason_read_in_chinese():
    problems = problems_in(bundled("approval_tier.dmn", "<text>\"new\"</text>", "<text>new</text>"))
    text = problems[0].text(translations("zh_CN").gettext)
    assert "第 1 行输入列“贷款类型”：FEEL 表达式“new”不受支持（“new”是名称而不是取值" in text, text
    assert "FEEL expression" not in text and "is a name" not in text and "write a value" not in text


@pytest.mark.parametrize("old, new, expected", [
    ("&lt;= 3000000", "-", "row 1 sends loans of any size to dual_signature"),
    ("&lt;= 3000000", "[0..3000000]", None),
    ("&lt;= 3000000", "[0..3000000)", None),
    ("&lt;= 3000000", "[0..3000001)", "row 1 sends loans up to 3,000,001 to dual_signature"),
    ("&lt;= 30000000", "&lt;= 40000000", "row 2 sends loans up to 40,000,000 to branch_committee, but policy 2026.3 "
                                         "(policies/default.yaml) caps branch_committee at 30,000,000"),
    ('<text>"branch_committee"</text>', '<text>"regional_committee"</text>',
     "row 2 sends loans to 'regional_committee', a tier policy 2026.3 (policies/default.yaml) does not know"),
    ('<text>"branch_committee"</text>', "<text>tier</text>", "row 2 chooses the approval tier tier, which is not"),
    ('? in ("extension", "refinancing", "restructuring")', '"extension"', None),
    ('? in ("extension", "refinancing", "restructuring")', '-', None),  # new loans up to 3m stop at row 1
])
def test_every_rule_choosing_a_tier_stays_within_the_policy(old, new, expected):
    problems = validate(bundled("approval_tier.dmn", old, new))
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems


def test_loans_that_go_one_tier_up_are_checked_against_the_tier_below():
    problems = validate(bundled("approval_tier.dmn", "&lt;= 3000000</text>\n        </inputEntry>\n        <output"
                                "Entry id=\"rule_one_up_branch_out\"", "&lt;= 30000000</text>\n        </inputEntry>"
                                "\n        <outputEntry id=\"rule_one_up_branch_out\""))
    assert len(problems) == 1 and ("row 4 sends extension loans up to 30,000,000 to branch_committee, but policy "
                                   "2026.3 (policies/default.yaml) caps branch_committee at 3,000,000 for extension "
                                   "loans") in problems[0], problems


def test_a_row_sending_loans_to_a_lower_tier_after_higher_rows_is_judged_by_what_reaches_it():
    """FIRST hit policy: a catch-all dual signature under a '> 3000000' row only ever sees loans up to 3m."""
    files = bundled("approval_tier.dmn", "&lt;= 3000000", "&gt; 3000000")
    files = [SourceFile(f.name, f.data.replace(b'"dual_signature"</text>\n        </outputEntry>',
                                               b'"head_office_committee"</text>\n        </outputEntry>', 1))
             for f in files]
    assert validate(files) == []


# ------------------------------------------------------------------ the bundled tables decide as before

def _values(table, column: int) -> list:
    """Values around every number the column's cells mention, every text they quote, and a few more."""
    kind = table.inputs[column].typeRef
    cells = " ".join(rule.inputEntries[column].lhs[0] or "" for rule in table.rules)
    if kind == "number":
        numbers = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", re.sub(r'"[^"]*"', "", cells))}
        return sorted({Decimal(0), Decimal(10 ** 9), *numbers, *(n - 1 for n in numbers), *(n + 1 for n in numbers)})
    if kind == "boolean":
        return [True, False]
    return sorted({"something else", *re.findall(r'"([^"]*)"', cells)})


@pytest.mark.parametrize("name", ["approval_tier.dmn", "entrusted_payment.dmn", "classification_floor.dmn"])
def test_every_bundled_table_decides_as_it_did_before_feel(name):
    """Spiff's own reading of each cell and ours agree on a grid of inputs around every value the table names."""
    files = [f for f in collect_files([BUNDLED]) if f.kind == "dmn"]
    bundle = parse_bundle(files)
    decision_id = name.removesuffix(".dmn")
    table = bundle.parser.get_engine(decision_id, None).decision_table
    ours, before = bundle.parser.get_engine(decision_id, None), DMNEngine(table)
    script_engine = RestrictedScriptEngine(ManualClock())
    names = [column.expression for column in table.inputs]
    grid = list(itertools.product(*[_values(table, i) for i in range(len(names))]))
    outcomes = set()
    for values in grid:
        task = SimpleNamespace(data=dict(zip(names, values)), workflow=SimpleNamespace(script_engine=script_engine))
        decided = ours.result(task)
        assert decided == before.result(task), dict(zip(names, values))
        outcomes.add(tuple(decided.items()))
    assert len(grid) > 20 and len(outcomes) == len({r.outputEntries[0].text for r in table.rules}), outcomes
