"""FEEL unary tests (what dmn-js writes in a decision table's input cells) read strictly, as Python over the input.

Supported: `-`; literals ("text", 12, 1.5, -3, true, false, null, date("2026-01-01")); comparisons
`< <= > >= = !=` before a literal; ranges `[a..b]`, `(a..b)`, `]a..b[` (open or closed at either end); lists
`a, b, c` (any of them); `not(...)` around any of these. An entry with `?` is the engine's own notation: a
Python expression over the input value `?` (e.g. `? in ("a", "b")`). Anything else is refused by name, so a
cell is never silently read as something else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

INPUT = "dmninputexpr"  # the name the input value has in the Python an entry becomes (Spiff's name for `?`)
PYTHON_LITERALS = {"True": True, "False": False, "None": None}  # older tables of ours wrote Python's spelling
FEEL_LITERALS = {"true": True, "false": False, "null": None}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<dots>\.\.)
  | (?P<op><=|>=|!=|<|>|=)
  | (?P<punct>[\[\]\(\),\-])
  | (?P<name>[^\W\d]\w*)
""", re.VERBOSE)
_QUESTION_MARK_OUTSIDE_TEXT = re.compile(r"""\?(?=(?:[^'"]|'[^']*'|"[^"]*")*$)""")


def N_(message: str) -> str:
    """Marks a reason's template for the catalogs; it is translated where the reader's language is known."""
    return message


class FeelRejected(ValueError):
    """An input entry this engine cannot read; the message says what to write instead.

    `template` is the reason as a gettext msgid, `params` fills it: the English text is str(exc)."""

    def __init__(self, template: str, **params):
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params


@dataclass(frozen=True)
class Literal:
    value: object  # str, int, Decimal, bool, None or date


@dataclass(frozen=True)
class Compare:
    op: str  # < <= > >= = !=
    value: Literal


@dataclass(frozen=True)
class Interval:
    low: Literal
    low_closed: bool
    high: Literal
    high_closed: bool


@dataclass(frozen=True)
class AnyOf:
    tests: tuple  # of Compare / Interval


@dataclass(frozen=True)
class Not:
    tests: AnyOf


@dataclass(frozen=True)
class PythonTest:
    """The engine's `?` notation: Python over the input value."""

    python: str


@dataclass(frozen=True)
class Entry:
    """One input cell, read: `test` is None for `-` (any value)."""

    text: str
    test: AnyOf | Not | PythonTest | None

    @property
    def python(self) -> str | None:
        """A Python expression over `dmninputexpr`, for the restricted evaluator (None: matches anything)."""
        return None if self.test is None else _python(self.test)

    @property
    def uses_dates(self) -> bool:
        return "feel_date(" in (self.python or "")


def _tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise FeelRejected(N_("'%(fragment)s' cannot be read"), fragment=text[at:at + 12])
        if match.lastgroup != "space":
            found.append((match.lastgroup, match.group()))
        at = match.end()
    return found


class _Reader:
    """Recursive descent over the tokens of one entry."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> str:
        kind, token = self.peek()
        if kind == "end" or (value is not None and token != value):
            if kind == "end" and value:
                raise FeelRejected(N_("expected %(token)s at the end"), token=value)
            if kind == "end":
                raise FeelRejected(N_("expected a value at the end"))
            if value:
                raise FeelRejected(N_("expected %(token)s before %(found)s"), token=value, found=repr(token))
            raise FeelRejected(N_("expected a value before %(found)s"), found=repr(token))
        self.at += 1
        return token

    def entry(self):
        if self.peek() == ("name", "not"):
            self.take()
            self.take("(")
            tests = self.tests()
            self.take(")")
            result = Not(tests)
        else:
            result = self.tests()
        if self.peek()[0] != "end":
            raise FeelRejected(N_("unexpected %(found)s"), found=repr(self.peek()[1]))
        return result

    def tests(self) -> AnyOf:
        tests = [self.test()]
        while self.peek() == ("punct", ","):
            self.take()
            tests.append(self.test())
        return AnyOf(tuple(tests))

    def test(self):
        kind, token = self.peek()
        if kind == "op":
            self.take()
            return Compare(token, self.literal())
        if token in ("[", "]", "(") and kind == "punct":
            self.take()
            low = self.literal()
            self.take("..")
            high = self.literal()
            end = self.take()
            if end not in ("]", ")", "["):
                raise FeelRejected(N_("a range ends with ']', ')' or '[', not %(found)s"), found=repr(end))
            return Interval(low, token == "[", high, end == "]")
        return Compare("=", self.literal())

    def literal(self) -> Literal:
        kind, token = self.peek()
        if kind == "punct" and token == "-":
            self.take()
            if self.peek()[0] != "number":
                raise FeelRejected(N_("'-' stands alone for any value, or before a number"))
            return Literal(-self.number(self.take()))
        self.take()
        if kind == "string":
            return Literal(_unescape(token[1:-1]))
        if kind == "number":
            return Literal(self.number(token))
        if kind == "name" and token in {**FEEL_LITERALS, **PYTHON_LITERALS}:
            return Literal({**FEEL_LITERALS, **PYTHON_LITERALS}[token])
        if kind == "name" and token == "date" and self.peek() == ("punct", "("):
            self.take("(")
            text = self.take()
            self.take(")")
            try:
                return Literal(date.fromisoformat(_unescape(text[1:-1])))
            except ValueError:
                raise FeelRejected(N_('date(%(date_text)s) is not a date written as "YYYY-MM-DD"'),
                                   date_text=text) from None
        if kind == "name" and self.peek() == ("punct", "("):
            raise FeelRejected(N_("the function %(function)s() is not available; compare with literal values"),
                               function=token)
        if kind == "name" and len(self.tokens) == 1:
            raise FeelRejected(N_('\'%(name)s\' is a name, not a value; for the text write "%(name)s"'), name=token)
        if kind == "name":
            raise FeelRejected(N_("'%(name)s' is a name or keyword; only literal values can be compared"), name=token)
        raise FeelRejected(N_("expected a value, not %(found)s"), found=repr(token))

    @staticmethod
    def number(token: str) -> int | Decimal:
        try:
            return int(token) if token.isdigit() else Decimal(token)
        except (ValueError, InvalidOperation):
            raise FeelRejected(N_("%(found)s is not a number"), found=repr(token)) from None


def _unescape(body: str) -> str:
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _value(literal: Literal) -> str:
    value = literal.value
    if isinstance(value, date):
        return f"feel_date({value.isoformat()!r})"
    if isinstance(value, Decimal):
        return f"Decimal({str(value)!r})"
    return repr(value)


def _python(test) -> str:
    subject = INPUT
    if isinstance(test, PythonTest):
        return test.python
    if isinstance(test, Not):
        return f"not ({_python(test.tests)})"
    if isinstance(test, AnyOf):
        parts = [_python(each) for each in test.tests]
        return parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)
    if any(isinstance(lit.value, date) for lit in _literals(test)):
        subject = f"feel_date({INPUT})"
    if isinstance(test, Compare):
        if test.value.value is None:
            return f"{INPUT} {'is not' if test.op == '!=' else 'is'} None" if test.op in ("=", "!=") \
                else "False"
        op = "==" if test.op == "=" else test.op
        if op in ("==", "!="):
            return f"{subject} {op} {_value(test.value)}"
        return f"{INPUT} is not None and {subject} {op} {_value(test.value)}"
    low, high = ("<=" if test.low_closed else "<"), ("<=" if test.high_closed else "<")
    return f"{INPUT} is not None and {_value(test.low)} {low} {subject} {high} {_value(test.high)}"


def _literals(test) -> list[Literal]:
    return [test.value] if isinstance(test, Compare) else [test.low, test.high]


def feel_date(value):
    """The input of a date test as a date (task data carries dates as ISO text or as dates)."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


@lru_cache(maxsize=4096)
def read_entry(text: str | None) -> Entry:
    """Read one input cell; raises FeelRejected naming what is not supported."""
    stripped = (text or "").strip()
    if stripped in ("", "-"):
        return Entry(stripped, None)
    if _QUESTION_MARK_OUTSIDE_TEXT.search(stripped):
        return Entry(stripped, PythonTest(_QUESTION_MARK_OUTSIDE_TEXT.sub(INPUT, stripped)))
    return Entry(stripped, _Reader(stripped).entry())


class FeelDecisionEngine(DMNEngine):
    """Spiff's decision-table engine with input cells read as FEEL unary tests (see read_entry)."""

    def evaluate(self, input_expr, match_expr, task):
        try:
            test = read_entry(match_expr).python
        except FeelRejected:  # only a version deployed before cells were read as FEEL has one: run it as it ran
            return super().evaluate(input_expr, match_expr, task)
        if test is None:
            return True
        script_engine = task.workflow.script_engine
        value = script_engine.evaluate(task, input_expr)
        return script_engine.evaluate(task, test, external_context={INPUT: value, "feel_date": feel_date})
