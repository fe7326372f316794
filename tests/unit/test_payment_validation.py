"""A redesign that pays out must say where the approval and the release happen, with names the engine knows."""
from __future__ import annotations

import pytest

from engine.bootstrap import BUNDLED_BPMN
from engine.runtime.specs import collect_files
from engine.runtime.parser import SourceFile
from engine.runtime.validation import validate_files
from policies import default_policy


def problems_after(old: str, new: str) -> list[str]:
    files = collect_files([BUNDLED_BPMN])
    text = next(f for f in files if f.name == "origination.bpmn").data.decode("utf-8")
    assert old in text
    files = [f if f.name != "origination.bpmn" else SourceFile(f.name, text.replace(old, new, 1).encode("utf-8"))
             for f in files]
    _bundle, problems = validate_files(files, default_policy())
    return [str(p) for p in problems]


def test_the_bundled_processes_declare_approval_release_and_payments():
    assert problems_after("<bpmn:", "<bpmn:") == []


@pytest.mark.parametrize("event", ["approved", "released"])
def test_a_process_that_pays_without_an_approval_or_release_step_is_rejected(event):
    problems = problems_after(f'<spiffworkflow:property name="loan_event" value="{event}" />', "")
    assert any(f"loan_event '{event}'" in p and "execute_payment" in p for p in problems), problems


def test_unknown_payment_mode_and_loan_event_are_named():
    problems = problems_after('<spiffworkflow:property name="payment" value="direct" />',
                              '<spiffworkflow:property name="payment" value="wire" />')
    assert any("payment 'wire'" in p for p in problems), problems
    problems = problems_after('<spiffworkflow:property name="loan_event" value="collateral_registered" />',
                              '<spiffworkflow:property name="loan_event" value="colateral" />')
    assert any("loan_event 'colateral'" in p for p in problems), problems
