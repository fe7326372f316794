"""What changed between two policy versions: the text diff and the duties, pair rules and parameters touched."""
from __future__ import annotations

from engine.audit.history import PolicyVersionView, policy_diff
from policies import DEFAULT_POLICY


def version(name: str, text: str) -> PolicyVersionView:
    return PolicyVersionView(name, "0" * 64, None, None, None, None, text, False, False)


def test_the_summary_names_the_duties_pairs_and_parameters_changed():
    text = DEFAULT_POLICY.read_text("utf-8")
    changed = (text.replace('version: "2026.3"', 'version: "2026.9"')
               .replace("task_due_days: 3 ", "task_due_days: 5 ")
               .replace("review:                   {en: review, zh: 审查,", "review:                   {en: check, zh: 审查,")
               .replace("  - id: SOD-02\n", "  - id: SOD-92\n"))
    assert changed.count("SOD-92") == 1 and "en: check" in changed
    diff = policy_diff(version("2026.3", text), version("2026.9", changed))
    assert ("task_due_days", "changed", 3, 5) in diff.parameters
    assert ("review", "changed") in diff.duties
    assert {("SOD-02", "removed"), ("SOD-92", "added")} <= set(diff.pairs)
    assert '-version: "2026.3"' in diff.lines and '+version: "2026.9"' in diff.lines


def test_the_same_text_has_no_differences():
    text = DEFAULT_POLICY.read_text("utf-8")
    diff = policy_diff(version("a", text), version("b", text))
    assert diff.lines == () and diff.duties == () and diff.pairs == () and diff.parameters == ()
