"""Compliance pages under /audit: search, a loan's trace, process heatmaps, the segregation report, the
accountability register, conformance, exports, and the trail's integrity.

For the `auditor` role only (the guard in blueprint.py refuses everyone else). Every route is a GET but one:
running a verification, which records only itself (integrity.py).
"""
from __future__ import annotations

from . import integrity, register, views  # noqa: F401  (their routes register on the blueprint)
from .blueprint import AUDITOR, bp

__all__ = ["AUDITOR", "bp"]
