"""Decision tables checked before deployment: every cell readable, the approval tiers they choose within the policy."""
from __future__ import annotations

from decimal import Decimal
from pathlib import PurePosixPath

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.runtime.feel import INPUT, Entry, FeelRejected, Not, PythonTest, feel_date, read_entry
from engine.runtime.scripting import ExpressionRejected, RestrictedEnvironment, compile_expression
from engine.runtime.decision_messages import FEEL_PROBLEM, FEEL_PROBLEMS
from engine.runtime.validation import N_, Problem, problem

TIER_OUTPUT = "approval_tier"
EXPOSURE_INPUTS = ("group_exposure", "exposure", "amount")  # what the policy measures a tier's ceiling against
LOAN_TYPE_INPUT = "loan_type"
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
                problems.append(_unreadable(exc, exc.file_name or dmn_parser.filename or "?"))
            continue
        if tables[-1].id not in bundle.checked_decisions:
            bundle.checked_decisions.add(tables[-1].id)
            problems += table_problems(bundle, tables[-1])
    for table in tables:
        if any((out.name or out.label) == TIER_OUTPUT for out in table.outputs):
            problems += tier_problems(bundle, table, policy)
    return problems


def _unreadable(exc: ValidationException, file: str) -> Problem:
    """A decision Spiff cannot build: ours say it with a template (UnreadableDecision), Spiff's own in English."""
    if getattr(exc, "template", None):
        return problem(file, exc.line_number or None, exc.id or None, exc.template, **exc.params)
    return Problem(file, exc.line_number or None, exc.id or None, str(exc).split("\n")[0])


def _problem(bundle, element_id: str | None, template: str, **params) -> Problem:
    file = bundle.element_file.get(element_id or "", "?")
    return problem(file, bundle.lines.get((file, element_id or "")), element_id, template, **params)


def _label(column) -> str:
    return column.label or column.name or column.expression or column.id


def table_problems(bundle, table) -> list[Problem]:
    """Input cells must be FEEL unary tests this engine reads (or `?` Python); outputs expressions it evaluates."""
    problems = []
    for column in table.inputs:
        if not (column.expression or "").strip():
            problems.append(_problem(bundle, column.id, N_("input '%(input)s' has no input expression; write the "
                                                           "name of the value it reads (e.g. loan_type)"),
                                     input=_label(column)))
        elif failed := _expression_problem(column.expression):
            refused, detail = failed
            template = (N_("input '%(input)s': the input expression '%(expression)s' is refused: %(detail)s")
                        if refused else
                        N_("input '%(input)s': the input expression '%(expression)s' is not valid: %(detail)s"))
            problems.append(_problem(bundle, column.id, template, input=_label(column),
                                     expression=column.expression, detail=detail))
    for rule in table.rules:
        for entry in rule.inputEntries:
            for text in entry.lhs:
                if text is None:
                    continue
                where = {"row": rule.row_number, "input": _label(entry.input), "text": text.strip()}
                try:
                    python = read_entry(text).python
                except FeelRejected as exc:
                    problems.append(_feel_problem(bundle, entry.id, exc, where))
                    continue
                failed = _expression_problem(python) if python else None
                if failed:
                    template = (N_("row %(row)s, input '%(input)s': '%(text)s' is refused: %(detail)s") if failed[0]
                                else N_("row %(row)s, input '%(input)s': '%(text)s' is not valid: %(detail)s"))
                    problems.append(_problem(bundle, entry.id, template, detail=failed[1], **where))
        for out in rule.outputEntries:
            failed = _expression_problem(out.text) if out.text and out.text.strip() else None
            if failed:
                template = (N_("row %(row)s, output '%(output)s': '%(text)s' is refused: %(detail)s") if failed[0]
                            else N_("row %(row)s, output '%(output)s': '%(text)s' is not valid: %(detail)s"))
                problems.append(_problem(bundle, out.id, template, row=rule.row_number, output=_label(out.output),
                                         text=out.text.strip(), detail=failed[1]))
    return problems


def _feel_problem(bundle, element_id: str, exc: FeelRejected, where: dict) -> Problem:
    """An input cell refused for the reason `exc` gives, the reason in the reader's language too."""
    template = FEEL_PROBLEMS.get(getattr(exc, "template", None))
    if template is None:
        return _problem(bundle, element_id, FEEL_PROBLEM, reason=str(exc), **where)
    return _problem(bundle, element_id, template, **exc.params, **where)


def _expression_problem(source: str) -> tuple[bool, str] | None:
    """(refused, why) when an expression cannot run: refused by the engine's rules, or not valid Python at all;
    `why` is Python's or the evaluator's own English text."""
    try:
        compile_expression(source)
    except SyntaxError as exc:
        return False, exc.msg
    except ExpressionRejected as exc:
        return True, str(exc)
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
    named = {"policy_version": policy.version,
             "policy_file": "/".join(PurePosixPath(str(policy.source).replace("\\", "/")).parts[-2:])}
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
        if tier is None and not text:
            found = (N_("%(table)s row %(row)s chooses the approval tier (empty), which is not a tier name in quotes "
                        "(%(tiers)s)"), {"tiers": ", ".join(tiers)})
        elif tier is None:
            found = (N_("%(table)s row %(row)s chooses the approval tier %(text)s, which is not a tier name in quotes "
                        "(%(tiers)s)"), {"text": text, "tiers": ", ".join(tiers)})
        elif tier not in tiers:
            found = (N_("%(table)s row %(row)s sends loans to '%(tier_id)s', a tier policy %(policy_version)s "
                        "(%(policy_file)s) does not know; known: %(tiers)s"),
                     {"tier_id": tier, "tiers": ", ".join(tiers), **named})
        else:
            found = _beyond_policy(policy, named, table, earlier, exposure_at, type_at, tier)
        if found:
            template, params = found
            problems.append(_problem(bundle, rule.id, template, table=table_file(bundle, rule.id),
                                     row=rule.row_number, **params))
    return problems


def _exposures(cells, exposure_at) -> list | None:
    return numbers_admitted(cells[exposure_at]) if exposure_at is not None else [(-INF, False, INF, False)]


def _beyond_policy(policy, named, table, earlier, exposure_at, type_at, tier) -> tuple[str, dict] | None:
    """What the last row of `earlier` sends to `tier` that the policy does not let that tier approve, as (template,
    params); the tier is named by its id (`tier_id`) and the policy's Chinese name for it (`tier_id_zh`)."""
    cells = earlier[-1]
    exposures = _exposures(cells, exposure_at)
    if exposures is None:
        return (N_("%(table)s row %(row)s sends loans to %(tier_id)s under the exposure test '%(test)s', which "
                   "cannot be checked against policy %(policy_version)s (%(policy_file)s); write it as a comparison "
                   "or range in FEEL"), {"test": cells[exposure_at].text, **_tier_params(policy, tier), **named})
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


def _tier_params(policy, tier: str) -> dict:
    return {"tier_id": tier, "tier_id_zh": next((t.zh for t in policy.tiers if t.name == tier and t.zh), tier)}


def _over_ceiling(policy, named, tier, loan_type, reach) -> tuple[str, dict] | None:
    rank = [t.name for t in policy.tiers].index(tier)
    one_up = loan_type in policy.one_tier_up
    if rank == len(policy.tiers) - 1 or not reach:
        return None
    highest = max(span[2] for span in reach)
    params = {"loan_type": loan_type, **_tier_params(policy, tier), **named}
    if one_up and rank == 0:
        return (N_("%(table)s row %(row)s sends %(loan_type)s loans to %(tier_id)s, but policy %(policy_version)s "
                   "(%(policy_file)s) never lets %(tier_id)s approve %(loan_type)s loans (they go one tier up)"),
                params)
    ceiling = policy.tiers[rank - 1 if one_up else rank].ceiling
    if ceiling is None or highest <= ceiling:
        return None
    params["ceiling"] = _money(ceiling)
    if highest != INF:
        params["amount"] = _money(highest)
    if one_up and highest == INF:
        template = N_("%(table)s row %(row)s sends %(loan_type)s loans of any size to %(tier_id)s, but policy "
                      "%(policy_version)s (%(policy_file)s) caps %(tier_id)s at %(ceiling)s for %(loan_type)s loans "
                      "(they go one tier up)")
    elif one_up:
        template = N_("%(table)s row %(row)s sends %(loan_type)s loans up to %(amount)s to %(tier_id)s, but policy "
                      "%(policy_version)s (%(policy_file)s) caps %(tier_id)s at %(ceiling)s for %(loan_type)s loans "
                      "(they go one tier up)")
    elif highest == INF:
        template = N_("%(table)s row %(row)s sends loans of any size to %(tier_id)s, but policy %(policy_version)s "
                      "(%(policy_file)s) caps %(tier_id)s at %(ceiling)s")
    else:
        template = N_("%(table)s row %(row)s sends loans up to %(amount)s to %(tier_id)s, but policy "
                      "%(policy_version)s (%(policy_file)s) caps %(tier_id)s at %(ceiling)s")
    return template, params
