"""Moving chosen running loans to another version: done where every step they have done or are at exists unchanged
there; refused with the steps named otherwise; each move and each refusal in the audit trail."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from engine.bootstrap import BUNDLED_BPMN
from engine.errors import InvalidInput, NotAllowed
from engine.store.models import AuditEvent


def redesign(tmp_path, old: str, new: str):
    folder = tmp_path / "redesign"
    shutil.copytree(BUNDLED_BPMN, folder)
    path = folder / "origination.bpmn"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def version_of(engine, ref) -> int:
    return next(i.version for i in engine.loan(ref).instances if i.process_id == "origination")


def test_a_loan_moves_when_only_steps_ahead_changed_and_continues(engine, driver, tmp_path):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    engine.deploy([redesign(tmp_path, 'name="拟定并签订合同"', 'name="拟定、审核并签订合同"')],
                  actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert version_of(engine, ref) == 1  # running loans stay on their version
    [outcome] = engine.migrate_loans("designer_zheng", "origination", 2, [ref], "Contract review wording")
    assert outcome.migrated and (outcome.from_version, outcome.to_version) == (1, 2)
    assert version_of(engine, ref) == 2
    driver.do(ref, "sign_business", "cm_wang")
    driver.do(ref, "sign_risk", "risk_liu")
    assert driver.item(ref, "prepare_contract").name == "拟定、审核并签订合同"
    with engine.db.reading() as session:
        moved = session.scalar(select(AuditEvent).where(AuditEvent.action == "instance_migrated"))
        assert (moved.loan_ref, moved.actor, moved.reason) == (ref, "designer_zheng", "Contract review wording")
        assert moved.detail["from_version"] == 1 and moved.detail["to_version"] == 2


def test_a_loan_past_a_changed_step_is_refused_and_the_others_still_move(engine, driver, tmp_path):
    past = driver.start()
    driver.do(past, "investigate", "cm_wang")
    driver.do(past, "review", "rev_chen")  # done: the redesign changes it
    early = driver.start()  # at the investigation: the review is still ahead
    engine.deploy([redesign(tmp_path, 'name="审查授信材料"', 'name="审查授信材料(含担保)"')],
                  actor="designer_zheng", approved_by="designer_wu", source="cli")
    refused, moved = engine.migrate_loans("designer_zheng", "origination", 2, [past, early], "Guarantee review")
    assert not refused.migrated and "review" in refused.reason and version_of(engine, past) == 1
    assert moved.migrated and version_of(engine, early) == 2
    driver.do(early, "investigate", "cm_wang")
    assert driver.item(early, "review").name == "审查授信材料(含担保)"
    driver.do(past, "sign_business", "cm_wang")  # the refused loan goes on, untouched, on its version
    with engine.db.reading() as session:
        refusal = session.scalar(select(AuditEvent).where(AuditEvent.action == "refused",
                                                          AuditEvent.loan_ref == past))
        assert refusal.detail["attempted"] == "migrate_instance" and "review" in refusal.reason


def test_only_a_designer_moves_loans_with_a_reason_to_a_version_that_exists(engine, driver):
    ref = driver.start()
    with pytest.raises(NotAllowed):
        engine.migrate_loans("cm_wang", "origination", 1, [ref], "because")
    with pytest.raises(InvalidInput):
        engine.migrate_loans("designer_zheng", "origination", 1, [ref], "  ")
    [same] = engine.migrate_loans("designer_zheng", "origination", 1, [ref], "no-op")
    assert not same.migrated and "already runs version 1" in same.reason
    [unknown] = engine.migrate_loans("designer_zheng", "origination", 1, ["L-1999-000001"], "typo")
    assert not unknown.migrated
