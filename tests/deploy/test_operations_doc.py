"""docs/operations.md names every setting and every metric the code has, and none it does not."""
from __future__ import annotations

import re
from pathlib import Path

from engine.settings import KEYS, PREFIX

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_the_settings_table_has_one_row_per_setting_with_its_variable():
    rows = re.findall(r"^\| `([a-z_]+)` \| `(CREDITFLOW_[A-Z_]+)` \|", DOC, re.M)
    assert sorted(name for name, _variable in rows) == sorted(KEYS)
    assert all(variable == PREFIX + name.upper() for name, variable in rows)


def test_every_metric_is_explained():
    sources = [ROOT / "engine" / "ops" / "metrics.py", ROOT / "webapp" / "ops.py"]
    names = {name for path in sources for name in re.findall(r'"(creditflow_[a-z_]+)"', path.read_text("utf-8"))}
    documented = set(re.findall(r"^\| `(creditflow_[a-z_]+)", DOC, re.M))
    assert names and names == documented
