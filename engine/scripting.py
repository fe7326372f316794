"""The restricted evaluator: every BPMN/DMN expression and script runs here, never in plain eval/exec.

Two layers: an AST whitelist of our own (no imports, loops only over bounded
iterables, no function or class definitions, no dunder or private names) and
RestrictedPython's compiler and guards on top of it. Loops are bounded because
`while`, recursion and generators cannot be written, `range` is capped and every
loop or comprehension stops after MAX_ITERATIONS steps.
"""
from __future__ import annotations

import ast
from datetime import timedelta
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

MAX_RANGE = 10_000
MAX_ITERATIONS = 100_000  # per loop or comprehension

FORBIDDEN_NODES = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.While: "while loops are not allowed (loop over a list instead)",
    ast.FunctionDef: "defining functions is not allowed",
    ast.AsyncFunctionDef: "defining functions is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ClassDef: "defining classes is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Try: "try blocks are not allowed",
    ast.With: "with blocks are not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.Delete: "del is not allowed",
}


class ExpressionRejected(ValueError):
    """An expression or script that the restricted evaluator will not run."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _bounded_range(*args):
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ValueError(f"range larger than {MAX_RANGE} is not allowed")
    return r


def _bounded_iter(obj):
    """Every for-loop and comprehension: at most MAX_ITERATIONS steps (a list growing while looped over stops)."""
    for count, value in enumerate(default_guarded_getiter(obj)):
        if count >= MAX_ITERATIONS:
            raise ValueError(f"a loop ran more than {MAX_ITERATIONS} times")
        yield value


def _inplacevar(op: str, x, y):
    ops = {
        "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
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


def check_source(source: str, mode: str) -> ast.AST:
    """Parse and whitelist-check BPMN code; raises SyntaxError or ExpressionRejected."""
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        for kind, why in FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                raise ExpressionRejected(why, getattr(node, "lineno", None))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionRejected(f"access to '{node.attr}' is not allowed", node.lineno)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionRejected(f"the name '{node.id}' is not allowed", node.lineno)
    return tree


class _DecimalLiterals(ast.NodeTransformer):
    """Money is Decimal in task data, so `amount * 0.05` must not mix in a binary float."""

    def visit_Constant(self, node):
        if isinstance(node.value, float):
            call = ast.Call(ast.Name("Decimal", ast.Load()), [ast.Constant(repr(node.value))], [])
            return ast.copy_location(call, node)
        return node


def _exact(tree: ast.AST) -> str:
    return ast.unparse(ast.fix_missing_locations(_DecimalLiterals().visit(tree)))


@lru_cache(maxsize=2048)
def compile_expression(source: str):
    """Compile an expression under both layers (cached: BPMN text is immutable per version)."""
    exact = _exact(check_source(source.strip(), "eval"))
    result = compile_restricted_eval(exact, "<bpmn-expression>")
    if result.errors:
        raise ExpressionRejected("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str):
    """Compile a script task body under both layers."""
    exact = _exact(check_source(source, "exec"))
    result = compile_restricted_exec(exact, "<bpmn-script>")
    if result.errors:
        raise ExpressionRejected("; ".join(result.errors))
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
        return eval(compile_expression(expression), scope)  # noqa: S307 - restricted bytecode

    def execute(self, script, context, external_context=None):
        scope = _base_globals(self.globals)
        scope.update(external_context or {})
        names_before = set(scope)
        scope.update(_data_only(context))
        exec(compile_script(script), scope)  # noqa: S102 - restricted bytecode
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
