"""A small prover for gateway conditions: can every outgoing condition be false at once?

It understands only comparisons of one variable with constants (`amount > 5`, `3 <= amount < 9`,
`rating == "poor"`), joined with `and`, `or` and `not`; a constant may be a policy parameter by name.
Anything else is "unknown", and lint then only warns."""
from __future__ import annotations

import ast
import math
import operator
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction

COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}


class Unknown(Exception):
    """The condition is outside what the prover understands."""


class _Reader:
    def __init__(self, constants: Mapping[str, object]):
        self.constants = constants
        self.variable: str | None = None
        self.values: list[object] = []
        self.truth = False  # some condition tests the value's truth

    def constant(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)) or (
                isinstance(node, ast.Constant) and node.value is None):
            return _number(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = self.constant(node.operand)
            if isinstance(value, Fraction):
                return -value
        if isinstance(node, ast.Name) and node.id in self.constants and node.id != self.variable:
            value = self.constants[node.id]
            try:
                return _number(Decimal(value) if isinstance(value, str) else value)
            except InvalidOperation:
                return value
        raise Unknown

    def is_variable(self, node) -> bool:
        name = _variable_name(node)
        if name is None or name in self.constants:
            return False
        if self.variable is None:
            self.variable = name
        return name == self.variable

    def predicate(self, node):
        """A function of the variable's value, for this condition."""
        if isinstance(node, ast.BoolOp):
            parts = [self.predicate(value) for value in node.values]
            combine = all if isinstance(node.op, ast.And) else any
            return lambda v: combine(part(v) for part in parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.predicate(node.operand)
            return lambda v: not inner(v)
        if self.is_variable(node):  # `entrusted_payment`: the value's truth
            self.truth = True
            return bool
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            tests = []
            for (left, right), op in zip(zip(operands, operands[1:]), node.ops):
                if isinstance(op, (ast.In, ast.NotIn)) and self.is_variable(left) and isinstance(
                        right, (ast.Tuple, ast.List, ast.Set)):
                    members = [self.constant(e) for e in right.elts]
                    self.values.extend(members)
                    inside = isinstance(op, ast.In)
                    tests.append(lambda v, members=members, inside=inside: (v in members) == inside)
                    continue
                if type(op) not in COMPARE:
                    raise Unknown
                tests.append(self.comparison(left, right, COMPARE[type(op)]))
            return lambda v: all(test(v) for test in tests)
        raise Unknown

    def comparison(self, left, right, compare):
        if self.is_variable(left):
            value = self.constant(right)
            self.values.append(value)
            return lambda v: _holds(compare, v, value)
        if self.is_variable(right):
            value = self.constant(left)
            self.values.append(value)
            return lambda v: _holds(compare, value, v)
        raise Unknown


def _number(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (float, Decimal)) and not math.isfinite(value):
        raise Unknown
    if isinstance(value, float):  # the engine reads a float literal as the Decimal it is written as
        return Fraction(Decimal(repr(value)))
    if isinstance(value, (int, Decimal)):
        return Fraction(value)
    if isinstance(value, str):
        return value
    raise Unknown


def _holds(compare, a, b) -> bool:
    if a is _OTHER or b is _OTHER:
        return compare is operator.ne
    try:
        return bool(compare(a, b))
    except TypeError:  # "x" < 3 is an error at run time; here it simply does not hold
        return False


COVERED, OPEN, UNKNOWN = "covered", "open", "unknown"


def all_false(conditions: Iterable[str], constants: Mapping[str, object] = {},
              domains: Mapping[str, Iterable[object]] = {}) -> tuple[str, tuple[str, object] | None]:
    """COVERED (some condition always holds), OPEN with (variable, value) for which every condition is false,
    or UNKNOWN (beyond what the prover reads, or text with no known list of values)."""
    reader = _Reader(constants)
    try:
        predicates = [reader.predicate(ast.parse(text.strip(), mode="eval").body) for text in conditions]
    except (SyntaxError, ValueError, Unknown):
        return UNKNOWN, None
    if reader.variable is None or not predicates:
        return UNKNOWN, None
    domain = domains.get(reader.variable)
    candidates, complete = _candidates(reader.values, reader.truth, domain)
    for value in candidates:
        if not any(_truth(test, value) for test in predicates):
            return (OPEN, (reader.variable, _shown(value))) if complete or value is not _OTHER else (UNKNOWN, None)
    return (COVERED, None) if complete or _OTHER in candidates else (UNKNOWN, None)


_OTHER = object()  # a text value none of the conditions names


def _truth(test, value) -> bool:
    try:
        return bool(test(value))
    except TypeError:
        return False


def _variable_name(node) -> str | None:
    """`amount`, or `committee_result["outcome"]`: a name, or a constant key of one."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.value, ast.Name):
        return f"{node.value.id}[{node.slice.value!r}]"
    return None


def _candidates(values: list[object], truth: bool, domain) -> tuple[list[object], bool]:
    """Values that between them take every combination of outcomes the comparisons allow, and whether they are
    every value there is (a known list, numbers, truth) or only those named (text: anything else may be written)."""
    if domain is not None:
        return [_number(v) for v in domain], True
    numbers = sorted({v for v in values if isinstance(v, Fraction)})
    if len(numbers) == len({v for v in values if not isinstance(v, bool)}):  # numbers and truth only
        if not numbers:
            return [True, False], True
        whole = [Fraction(0), numbers[0] - 1, *numbers, numbers[-1] + 1]
        for n in numbers:
            whole += [n - 1, n + 1]
        return whole + [(a + b) / 2 for a, b in zip(numbers, numbers[1:])] + ([None] if truth else []), True
    if all(isinstance(v, (str, bool)) or v is None for v in values):
        return [*dict.fromkeys(values), _OTHER], False
    return [], False


def _shown(value):
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else Decimal(value.numerator) / Decimal(value.denominator)
    return value
