"""The restricted evaluator runs what BPMN needs and nothing that escapes the sandbox."""
from decimal import Decimal

import pytest

from engine.runtime.scripting import ExpressionRejected, RestrictedEnvironment

ENV = RestrictedEnvironment({"double": lambda x: 2 * x})


@pytest.mark.parametrize("expression, data, expected", [
    ("amount > dual_investigation_threshold", {"amount": Decimal("8000000"), "dual_investigation_threshold": 5000000}, True),
    ('"P%dD" % first_inspection_days', {"first_inspection_days": 15}, "P15D"),
    ('decision == "approve" and len(votes) >= 5', {"decision": "approve", "votes": [1] * 5}, True),
    ("double(3)", {}, 6),
    ('votes_by.get("a", 0)', {"votes_by": {"a": 2}}, 2),
    ("sum(v for v in [1, 2, 3])", {}, 6),
])
def test_expressions_that_bpmn_uses_evaluate(expression, data, expected):
    assert ENV.evaluate(expression, data) == expected


def test_script_writes_new_and_changed_variables_back():
    data = {"inspection_count": 1, "term_months": 6, "classification": "normal"}
    ENV.execute('inspection_count += 1\ninspection_period = "P1M" if term_months <= 6 else "P3M"', data)
    assert data["inspection_count"] == 2
    assert data["inspection_period"] == "P1M"


@pytest.mark.parametrize("escape", [
    "().__class__.__base__.__subclasses__()",
    "[].__class__.__mro__[-1].__subclasses__()",
    "__import__('os').system('id')",
    "(lambda: 1)()",
    "x.__globals__",
    "_getattr_",
])
def test_known_escapes_are_refused_before_running(escape):
    with pytest.raises(ExpressionRejected):
        ENV.evaluate(escape, {"x": 1})


@pytest.mark.parametrize("call", ["open('/etc/passwd')", "getattr((), '__class__')", "type(())",
                                  "globals()", "vars()"])
def test_dangerous_builtins_do_not_exist(call):
    with pytest.raises(NameError):
        ENV.evaluate(call, {})


def test_eval_and_exec_are_refused_at_compile_time():
    with pytest.raises(ExpressionRejected, match="Eval calls"):
        ENV.evaluate("eval('1')", {})


def test_str_format_cannot_reach_attributes():
    with pytest.raises(NotImplementedError):
        ENV.evaluate('"{0.__class__}".format(1)', {})


@pytest.mark.parametrize("script, why", [
    ("import os", "imports"),
    ("while True:\n    pass", "while loops"),
    ("def f():\n    return 1", "defining functions"),
    ("class A:\n    pass", "defining classes"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "try blocks"),
])
def test_statements_outside_the_whitelist_are_refused(script, why):
    with pytest.raises(ExpressionRejected, match=why):
        ENV.execute(script, {})


def test_range_is_bounded():
    with pytest.raises(ValueError, match="range larger"):
        ENV.evaluate("len(range(10 ** 9))", {})


def test_float_literals_are_exact_decimals_so_money_arithmetic_works():
    data = {"project_investment": Decimal("20000000"), "amount": Decimal("1500000")}
    assert ENV.evaluate("project_investment * 0.05 < amount", data) is True
    assert ENV.evaluate("0.1 + 0.2 == 0.3", {}) is True


def test_a_list_grown_while_looping_over_it_stops():
    with pytest.raises(ValueError, match="loop ran more than"):
        ENV.execute("items = [1]\nfor x in items:\n    items.append(x)", {})


def test_task_data_cannot_replace_the_guards():
    assert ENV.evaluate("amount > 1", {"amount": 2, "_getattr_": "nope", "__builtins__": {}}) is True


def test_the_wall_clock_is_not_reachable_from_bpmn():
    with pytest.raises(NameError):
        ENV.evaluate("datetime.now()", {})


def test_print_is_refused_when_the_diagram_is_checked_not_when_a_loan_runs():
    from engine.runtime.scripting import check_source
    with pytest.raises(ExpressionRejected, match="print is not available"):
        check_source("total = 1\nprint(total)", "exec")


@pytest.mark.parametrize("script", [
    "x = 10 ** 10 ** 10",
    "x = 'x' * 10 ** 10",
    "x = [0] * 10 ** 9",
    "total = 0\nfor a in range(10000):\n    for b in range(10000):\n        for c in range(10000):\n            total = total + 1",
    "x = [a * b for a in range(10000) for b in range(10000)]",
])
def test_bombs_fail_the_one_evaluation_quickly(script):
    import time
    env = RestrictedEnvironment()
    started = time.monotonic()
    with pytest.raises(ValueError, match="too large|more than"):
        env.execute(script, {})
    assert time.monotonic() - started < 5


def test_ordinary_arithmetic_still_works():
    env = RestrictedEnvironment()
    context = {"amount": Decimal("1500000")}
    env.execute("fee = amount * 0.05\nsquare = 12 ** 2\nline = '-' * 20\nrows = [0] * 10", context)
    assert context["fee"] == Decimal("75000.00") and context["square"] == 144 and context["line"] == "-" * 20
    assert context["rows"] == [0] * 10
