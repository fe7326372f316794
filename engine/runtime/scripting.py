"""The restricted evaluator: every BPMN/DMN expression and script runs here, never in plain eval/exec.

Two layers: an AST whitelist of our own (no imports, loops only over bounded
iterables, no function or class definitions, no dunder or private names) and
RestrictedPython's compiler and guards on top of it. Loops are bounded because
`while`, recursion and generators cannot be written, `range` is capped and every
loop or comprehension stops after MAX_ITERATIONS steps.
"""
from __future__ import annotations

import ast
import time
from contextvars import ContextVar
from datetime import timedelta
import decimal
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Mapping

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from policies import N_

MAX_RANGE = 10_000
MAX_ITERATIONS = 100_000  # per loop or comprehension
MAX_TOTAL_STEPS = 1_000_000  # all loops of one evaluation together
MAX_SECONDS = 2.0  # one evaluation
MAX_EXPONENT = 1_000
MAX_INT_BITS = 4_096
MAX_SEQUENCE = 1_000_000  # characters or items built by `*`

FORBIDDEN_NODES = {
    ast.Import: N_("imports are not allowed"),
    ast.ImportFrom: N_("imports are not allowed"),
    ast.While: N_("while loops are not allowed (loop over a list instead)"),
    ast.FunctionDef: N_("defining functions is not allowed"),
    ast.AsyncFunctionDef: N_("defining functions is not allowed"),
    ast.Lambda: N_("lambda is not allowed"),
    ast.ClassDef: N_("defining classes is not allowed"),
    ast.Global: N_("global is not allowed"),
    ast.Nonlocal: N_("nonlocal is not allowed"),
    ast.Try: N_("try blocks are not allowed"),
    ast.With: N_("with blocks are not allowed"),
    ast.Yield: N_("yield is not allowed"),
    ast.YieldFrom: N_("yield is not allowed"),
    ast.Await: N_("await is not allowed"),
    ast.Delete: N_("del is not allowed"),
}


class ExpressionRejected(ValueError):
    """An expression or script that the restricted evaluator will not run."""

    def __init__(self, template: str, line: int | None = None, **params):
        super().__init__(template % params if params else template)
        self.line = line
        self.template = template  # the reason as a gettext msgid, filled with `params` in the reader's language
        self.params = params


def _bounded_range(*args):
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ValueError(f"range larger than {MAX_RANGE} is not allowed")
    return r


class _Budget:
    """Steps one evaluation may take across all its loops, and the time it may run."""

    def __init__(self):
        self.steps = MAX_TOTAL_STEPS
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise ValueError(f"the script ran more than {MAX_TOTAL_STEPS} loop steps in all")
        if self.steps % 1000 == 0 and time.monotonic() > self.deadline:
            raise ValueError(f"the script ran more than {MAX_SECONDS} seconds")


_budget: ContextVar[_Budget | None] = ContextVar("creditflow_script_budget", default=None)


def _bounded_iter(obj):
    """Every for-loop and comprehension: at most MAX_ITERATIONS steps each (a list growing while looped over
    stops), and all loops of one evaluation together at most MAX_TOTAL_STEPS."""
    budget = _budget.get()
    for count, value in enumerate(default_guarded_getiter(obj)):
        if count >= MAX_ITERATIONS:
            raise ValueError(f"a loop ran more than {MAX_ITERATIONS} times")
        if budget is not None:
            budget.spend()
        yield value


def _too_large(value) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() > MAX_INT_BITS
    if isinstance(value, (str, bytes, list, tuple)):
        return len(value) > MAX_SEQUENCE
    return False


def guarded_pow(base, exponent):
    """`**` that refuses results no credit rule needs (10 ** 10 ** 10 would take the process down)."""
    if isinstance(exponent, (int, Decimal)) and abs(exponent) > MAX_EXPONENT and base not in (0, 1, -1):
        raise ValueError(f"the exponent {exponent} is too large (at most {MAX_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 \
            and abs(base).bit_length() * exponent > MAX_INT_BITS:
        raise ValueError("the power is too large")
    return base ** exponent


def guarded_mul(left, right):
    """`*` that refuses to build huge text, lists or numbers ('x' * 10 ** 10)."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
            raise ValueError(f"the result would be too large (more than {MAX_SEQUENCE} items)")
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise ValueError("the product is too large")
    return left * right


GUARDS = {"guarded_pow": guarded_pow, "guarded_mul": guarded_mul}


def _inplacevar(op: str, x, y):
    ops = {
        "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": guarded_mul,
        "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
    }
    if op not in ops:
        raise ValueError(f"operator {op} is not allowed")
    return ops[op](x, y)


SAFE_BUILTINS: dict[str, Any] = {
    name: obj for name, obj in {
        "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "float": float,
        "int": int, "len": len, "list": list, "max": max, "min": min, "round": round,
        "sorted": sorted, "str": str, "sum": sum, "tuple": tuple, "set": set,
        "enumerate": enumerate, "range": _bounded_range, "zip": zip, "isinstance": isinstance,
        "True": True, "False": False, "None": None,
        "Decimal": Decimal, "timedelta": timedelta,
    }.items()
}


# The helpers the engine puts beside the builtins (engine/kernel.py builds them with the policy and the clock).
ENGINE_HELPERS = ("tally_votes", "business_days", "today", "date_after", "remind_at")
CALLABLE_NAMES = frozenset({name for name, obj in SAFE_BUILTINS.items() if callable(obj)} | set(ENGINE_HELPERS))


def unknown_calls(source: str, mode: str) -> list[tuple[str, int | None]]:
    """(name, line) of every call to a function that will not exist at run time: not a builtin the evaluator
    allows, not an engine helper, not a name the code itself binds. Task data holds values, never functions."""
    tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    bound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    return [(node.func.id, getattr(node, "lineno", None)) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id not in CALLABLE_NAMES and node.func.id not in bound]


def check_source(source: str, mode: str) -> ast.AST:
    """Parse and whitelist-check BPMN code; raises SyntaxError or ExpressionRejected."""
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        for kind, why in FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                raise ExpressionRejected(why, getattr(node, "lineno", None))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionRejected(N_("access to '%(name)s' is not allowed"), node.lineno, name=node.attr)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionRejected(N_("the name '%(name)s' is not allowed"), node.lineno, name=node.id)
        if isinstance(node, ast.Name) and node.id == "print":
            raise ExpressionRejected(N_("print is not available: a script has no output; assign the value to a "
                                        "variable instead"), node.lineno)
    return tree


class _DecimalLiterals(ast.NodeTransformer):
    """Money is Decimal in task data, so `amount * 0.05` must not mix in a binary float; `**` and `*` go through
    guards that refuse results too large to compute."""

    def visit_Constant(self, node):
        if isinstance(node.value, float):
            call = ast.Call(ast.Name("Decimal", ast.Load()), [ast.Constant(repr(node.value))], [])
            return ast.copy_location(call, node)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        guard = {ast.Pow: "guarded_pow", ast.Mult: "guarded_mul"}.get(type(node.op))
        if guard is None:
            return node
        return ast.copy_location(ast.Call(ast.Name(guard, ast.Load()), [node.left, node.right], []), node)


def _exact(tree: ast.AST) -> str:
    return ast.unparse(ast.fix_missing_locations(_DecimalLiterals().visit(tree)))


@lru_cache(maxsize=2048)
def compile_expression(source: str):
    """Compile an expression under both layers (cached: BPMN text is immutable per version)."""
    exact = _exact(check_source(source.strip(), "eval"))
    result = compile_restricted_eval(exact, "<bpmn-expression>")
    if result.errors:
        raise ExpressionRejected("%(errors)s", errors="; ".join(result.errors))
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str):
    """Compile a script task body under both layers."""
    exact = _exact(check_source(source, "exec"))
    result = compile_restricted_exec(exact, "<bpmn-script>")
    if result.errors:
        raise ExpressionRejected("%(errors)s", errors="; ".join(result.errors))
    return result.code


def _base_globals(helpers: Mapping[str, Callable]) -> dict[str, Any]:
    return {
        "__builtins__": SAFE_BUILTINS,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": _bounded_iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        **helpers,
    }


def _data_only(context) -> dict:
    """Task data never shadows the guards (names starting with '_')."""
    return {k: v for k, v in context.items() if not str(k).startswith("_")}


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Spiff's script environment hook, with the restricted compiler in place of eval/exec."""

    def __init__(self, helpers: Mapping[str, Callable] | None = None):
        super().__init__(dict(helpers or {}))

    def evaluate(self, expression, context, external_context=None):
        scope = _base_globals(self.globals)
        scope.update(external_context or {})
        scope.update(_data_only(context))
        scope.update(GUARDS)
        token = _budget.set(_Budget())
        try:
            return eval(compile_expression(expression), scope)  # noqa: S307 - restricted bytecode
        finally:
            _budget.reset(token)

    def execute(self, script, context, external_context=None):
        scope = _base_globals(self.globals)
        scope.update(external_context or {})
        names_before = set(scope) | set(GUARDS)
        scope.update(_data_only(context))
        scope.update(GUARDS)
        token = _budget.set(_Budget())
        try:
            exec(compile_script(script), scope)  # noqa: S102 - restricted bytecode
        finally:
            _budget.reset(token)
        for key, value in scope.items():
            if key.startswith("_") or callable(value):
                continue
            if key in context or key not in names_before:
                context[key] = value
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    """Spiff's script engine with the restricted environment and the engine clock."""

    def __init__(self, clock, helpers: Mapping[str, Callable] | None = None):
        super().__init__(environment=RestrictedEnvironment(helpers))
        self.clock = clock

    def validate(self, expression):
        check_source(expression, "eval" if "\n" not in expression.strip() else "exec")

    def create_task_exec_exception(self, task, script, err):
        """Spiff assumes an exception's first argument is text; decimal's are lists. Name the error plainly."""
        if isinstance(err, decimal.DivisionByZero | decimal.DivisionUndefined):
            err.args = ("division by zero",)
        elif err.args and not isinstance(err.args[0], str):
            err.args = (str(err),)
        return super().create_task_exec_exception(task, script, err)
