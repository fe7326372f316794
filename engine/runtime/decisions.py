"""Decision tables checked before deployment: every cell readable, the approval tiers they choose within the policy."""
from __future__ import annotations

from decimal import Decimal
from pathlib import PurePosixPath

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.runtime.feel import INPUT, Entry, FeelRejected, Not, PythonTest, feel_date, read_entry
from engine.runtime.scripting import ExpressionRejected, RestrictedEnvironment, compile_expression
from engine.runtime.validation import Problem

TIER_OUTPUT = "approval_tier"
EXPOSURE_INPUTS = ("group_exposure", "exposure", "amount")  # what the policy measures a tier's ceiling against
LOAN_TYPE_INPUT = "loan_type"
FEEL_HELP = ('write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
             "or not(...)")
INF = Decimal("Infinity")


def task_decision_problems(bundle, task_spec) -> list[Problem]:
    """The table a business rule task runs (each table checked once per bundle)."""
    table = getattr(getattr(task_spec, "dmnEngine", None), "decision_table", None)
    if table is None or table.id in bundle.checked_decisions:
        return []
    bundle.checked_decisions.add(table.id)
    return table_problems(bundle, table)


def decision_problems(bundle, policy) -> list[Problem]:
    """Every decision of the bundle, called by a process or not, and the approval tiers against `policy`."""
    problems, tables = [], []
    for decision_id, dmn_parser in bundle.parser.dmn_parsers.items():
        # a process calling a decision Spiff cannot build was refused for it already
        reported = decision_id in getattr(bundle.parser, "unreadable_decisions", ())
        try:
            tables.append(bundle.parser.get_engine(decision_id, None).decision_table)
        except ValidationException as exc:
            if not reported:
                problems.append(Problem(exc.file_name or dmn_parser.filename or "?", exc.line_number or None,
                                        exc.id or None, str(exc).split("\n")[0]))
            continue
        if tables[-1].id not in bundle.checked_decisions:
            bundle.checked_decisions.add(tables[-1].id)
            problems += table_problems(bundle, tables[-1])
    for table in tables:
        if any((out.name or out.label) == TIER_OUTPUT for out in table.outputs):
            problems += tier_problems(bundle, table, policy)
    return problems


def _problem(bundle, element_id: str | None, message: str) -> Problem:
    file = bundle.element_file.get(element_id or "", "?")
    return Problem(file, bundle.lines.get((file, element_id or "")), element_id, message)


def _label(column) -> str:
    return column.label or column.name or column.expression or column.id


def table_problems(bundle, table) -> list[Problem]:
    """Input cells must be FEEL unary tests this engine reads (or `?` Python); outputs expressions it evaluates."""
    problems = []
    for column in table.inputs:
        if not (column.expression or "").strip():
            problems.append(_problem(bundle, column.id, f"input '{_label(column)}' has no input expression; write "
                                                        "the name of the value it reads (e.g. loan_type)"))
        elif message := _expression_problem(column.expression):
            problems.append(_problem(bundle, column.id, f"input '{_label(column)}': the input expression "
                                                        f"'{column.expression}' {message}"))
    for rule in table.rules:
        for entry in rule.inputEntries:
            for text in entry.lhs:
                if text is None:
                    continue
                where = f"row {rule.row_number}, input '{_label(entry.input)}'"
                try:
                    python = read_entry(text).python
                except FeelRejected as exc:
                    problems.append(_problem(bundle, entry.id, f"{where}: FEEL expression '{text.strip()}' is not "
                                                               f"supported ({exc}); {FEEL_HELP}"))
                    continue
                message = _expression_problem(python) if python else None
                if message:
                    problems.append(_problem(bundle, entry.id, f"{where}: '{text.strip()}' {message}"))
        for out in rule.outputEntries:
            message = _expression_problem(out.text) if out.text and out.text.strip() else None
            if message:
                problems.append(_problem(bundle, out.id, f"row {rule.row_number}, output '{_label(out.output)}': "
                                                         f"'{out.text.strip()}' {message}"))
    return problems


def _expression_problem(source: str) -> str | None:
    try:
        compile_expression(source)
    except SyntaxError as exc:
        return f"is not valid: {exc.msg}"
    except ExpressionRejected as exc:
        return f"is refused: {exc}"
    return None


# ------------------------------------------------------------------ approval tiers against the policy

def _nonempty(span) -> bool:
    low, low_closed, high, high_closed = span
    return low < high or (low == high and low_closed and high_closed)


def _complement(spans: list) -> list:
    gaps, low, low_closed = [], -INF, False
    for lo, lc, hi, hc in sorted(spans, key=lambda s: (s[0], not s[1])):
        if _nonempty((low, low_closed, lo, not lc)):
            gaps.append((low, low_closed, lo, not lc))
        if hi > low:
            low, low_closed = hi, not hc
        elif hi == low:
            low_closed = low_closed and not hc
    if low < INF:
        gaps.append((low, low_closed, INF, False))
    return [gap for gap in gaps if _nonempty(gap)]


def _intersect(a: list, b: list) -> list:
    result = []
    for alo, alc, ahi, ahc in a:
        for blo, blc, bhi, bhc in b:
            lo, lc = (alo, alc) if alo > blo else (blo, blc) if blo > alo else (alo, alc and blc)
            hi, hc = (ahi, ahc) if ahi < bhi else (bhi, bhc) if bhi < ahi else (ahi, ahc and bhc)
            if _nonempty((lo, lc, hi, hc)):
                result.append((lo, lc, hi, hc))
    return result


def _number(literal) -> Decimal | None:
    value = literal.value
    return Decimal(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else None


def numbers_admitted(entry: Entry) -> list | None:
    """The exposures an input cell lets through, as spans (low, low closed, high, high closed); None: unreadable."""
    test = entry.test
    if test is None:
        return [(-INF, False, INF, False)]
    if isinstance(test, PythonTest):
        return None
    tests, negate = (test.tests.tests, True) if isinstance(test, Not) else (test.tests, False)
    spans = []
    for each in tests:
        if hasattr(each, "op"):
            v = _number(each.value)
            if v is None:
                spans += [(-INF, False, INF, False)] if each.op == "!=" else []
                continue
            spans += {"<": [(-INF, False, v, False)], "<=": [(-INF, False, v, True)],
                      ">": [(v, False, INF, False)], ">=": [(v, True, INF, False)], "=": [(v, True, v, True)],
                      "!=": [(-INF, False, v, False), (v, False, INF, False)]}[each.op]
        elif _number(each.low) is not None and _number(each.high) is not None:
            spans.append((_number(each.low), each.low_closed, _number(each.high), each.high_closed))
    return _complement(spans) if negate else spans


def _admits(entry: Entry, value) -> bool:
    """Whether a cell lets `value` through (a cell that cannot be evaluated is assumed to)."""
    if entry.python is None:
        return True
    try:
        return bool(RestrictedEnvironment().evaluate(entry.python, {}, {INPUT: value, "feel_date": feel_date}))
    except Exception:  # noqa: BLE001 - a cell that fails here fails at run time too; count it as letting through
        return True


def _money(value: Decimal) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:,}"


def tier_problems(bundle, table, policy) -> list[Problem]:
    """Each rule choosing a tier may admit no exposure above what the policy lets that tier approve."""
    columns = {(column.expression or "").strip(): i for i, column in enumerate(table.inputs)}
    exposure_at = next((columns[name] for name in EXPOSURE_INPUTS if name in columns), None)
    type_at = columns.get(LOAN_TYPE_INPUT)
    out_at = next(i for i, out in enumerate(table.outputs) if (out.name or out.label) == TIER_OUTPUT)
    policy_file = "/".join(PurePosixPath(str(policy.source).replace("\\", "/")).parts[-2:])
    named = f"policy {policy.version} ({policy_file})"
    tiers = [t.name for t in policy.tiers]
    problems, earlier = [], []
    for rule in table.rules:
        try:
            cells = [read_entry(e.lhs[0] if e.lhs else None) for e in rule.inputEntries]
        except FeelRejected:
            continue  # reported by table_problems; nothing deploys
        earlier.append(cells)
        text = (rule.outputEntries[out_at].text or "").strip()
        tier = text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" else None
        if tier is None:
            message = (f"chooses the approval tier {text or '(empty)'}, which is not a tier name in quotes "
                       f"({', '.join(tiers)})")
        elif tier not in tiers:
            message = f"sends loans to '{tier}', a tier {named} does not know; known: {', '.join(tiers)}"
        else:
            message = _beyond_policy(policy, named, table, earlier, exposure_at, type_at, tier)
        if message:
            problems.append(_problem(bundle, rule.id, f"{table_file(bundle, rule.id)} row {rule.row_number} {message}"))
    return problems


def _exposures(cells, exposure_at) -> list | None:
    return numbers_admitted(cells[exposure_at]) if exposure_at is not None else [(-INF, False, INF, False)]


def _beyond_policy(policy, named, table, earlier, exposure_at, type_at, tier) -> str | None:
    """What the last row of `earlier` sends to `tier` that the policy does not let that tier approve."""
    cells = earlier[-1]
    exposures = _exposures(cells, exposure_at)
    if exposures is None:
        return (f"sends loans to {tier} under the exposure test '{cells[exposure_at].text}', which cannot be checked "
                f"against {named}; write it as a comparison or range in FEEL")
    for loan_type in sorted(policy.loan_types, key=lambda t: (t in policy.one_tier_up, t)):
        if type_at is not None and not _admits(cells[type_at], loan_type):
            continue
        reach = exposures
        for before in earlier[:-1]:  # FIRST: a row above that takes every such loan takes its exposures first
            spans = _exposures(before, exposure_at)
            if table.hit_policy == "FIRST" and spans is not None and _covers(before, cells, exposure_at, type_at,
                                                                              loan_type):
                reach = _intersect(reach, _complement(spans))
        message = _over_ceiling(policy, named, tier, loan_type, reach)
        if message:
            return message
    return None


def table_file(bundle, element_id: str) -> str:
    return PurePosixPath(bundle.element_file.get(element_id, "?")).name


def _covers(before, cells, exposure_at, type_at, loan_type) -> bool:
    """Whether an earlier row takes every loan of `loan_type` this row takes, apart from the exposure."""
    for i, cell in enumerate(before):
        if i == exposure_at or cell.test is None:
            continue
        if i == type_at:
            if not _admits(cell, loan_type):
                return False
        elif i >= len(cells) or " ".join(cell.text.split()) != " ".join(cells[i].text.split()):
            return False
    return True


def _over_ceiling(policy, named, tier, loan_type, reach) -> str | None:
    rank = [t.name for t in policy.tiers].index(tier)
    one_up = loan_type in policy.one_tier_up
    if rank == len(policy.tiers) - 1 or not reach:
        return None
    highest = max(span[2] for span in reach)
    kind = f"{loan_type} loans" if one_up else "loans"
    if one_up and rank == 0:
        return (f"sends {kind} to {tier}, but {named} never lets {tier} approve {loan_type} loans (they go one tier "
                "up)")
    ceiling = policy.tiers[rank - 1 if one_up else rank].ceiling
    if ceiling is None or highest <= ceiling:
        return None
    size = "of any size" if highest == INF else f"up to {_money(highest)}"
    extra = f" for {loan_type} loans (they go one tier up)" if one_up else ""
    return f"sends {kind} {size} to {tier}, but {named} caps {tier} at {_money(ceiling)}{extra}"
