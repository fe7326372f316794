"""Compliance pages under /audit: search, a loan's trace, process heatmaps, the segregation report, the
accountability register, exports.

Read-only and for the `auditor` role only: every route is a GET, and the guard in blueprint.py refuses everyone
else.
"""
from __future__ import annotations

from . import register, views  # noqa: F401  (their routes register on the blueprint)
from .blueprint import AUDITOR, bp

__all__ = ["AUDITOR", "bp"]
