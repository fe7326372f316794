"""Post-loan staffing: the originator assists inspections when available (双人贷后检查)."""
from __future__ import annotations

from collections.abc import Collection, Iterable

from .model import Actor


def choose_inspection_assistant(
    originator: Actor, candidates: Iterable[Actor], exclude: Collection[str] = ()
) -> str | None:
    """The originator unless on leave or excluded; otherwise the first available candidate."""
    if not originator.on_leave and originator.username not in exclude:
        return originator.username
    for candidate in candidates:
        if not candidate.on_leave and candidate.username not in exclude and candidate.username != originator.username:
            return candidate.username
    return None
