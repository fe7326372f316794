"""A Babel extractor for the engine's and policies' message templates (see babel.cfg).

The engine passes English templates to its exceptions (NotFound("No loan %(loan)s.", loan=ref)) and keeps form
messages in dicts; those templates are the msgids the web layer and the CLI translate.
"""
from __future__ import annotations

import ast

CALLS = {"_", "N_", "gettext", "EngineError", "NotFound", "InvalidInput", "NotAllowed", "ConcurrentChange",
         "ScriptFailed", "DeploymentRejected", "TooManyAttempts", "DatabaseUnavailable", "NoEligiblePerformer",
         "NoAuthorityCovers", "MissingDocuments", "DocumentTampered", "PositionRefused"}
MESSAGE_DICTS = {"MESSAGES", "TYPE_WORDS"}


def extract_engine_messages(fileobj, keywords, comment_tags, options):
    """Yield (line, funcname, message, comments) for every template string in an engine or policies module."""
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in CALLS and node.args and _is_text(node.args[0]):
                yield node.lineno, None, node.args[0].value, []
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            if any(getattr(t, "id", None) in MESSAGE_DICTS for t in node.targets):
                for value in node.value.values:
                    if _is_text(value):
                        yield value.lineno, None, value.value, []
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and _is_text(node.elts[0]) \
                and isinstance(node.elts[1], ast.Dict) and " " in node.elts[0].value:
            yield node.lineno, None, node.elts[0].value, []  # (template, params) pairs, e.g. named-user checks


def _is_text(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() != ""
