"""Dual signature (双签): the two signatures always come from two different people, even when one person holds both
grants, and even when a redesign draws both signatures in the same lane."""
from __future__ import annotations

import pytest

from engine.access import PolicyDenied

pytestmark = pytest.mark.usefixtures("engine_mode")


def signed_once(driver, signer: str) -> str:
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", signer)
    return ref


def test_a_person_holding_both_grants_cannot_sign_twice(engine, driver):
    engine.grant_role("cm_li", "risk_manager", "BJ01", limit=5_000_000)
    ref = signed_once(driver, "cm_li")
    assert "sign_risk" not in [i.bpmn_id for i in engine.inbox("cm_li", "available")[0] if i.loan_ref == ref]
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_risk", "cm_li")
    assert refused.value.rule == "SOD-13"
    driver.do(ref, "sign_risk", "risk_liu")
    assert driver.open_steps(ref) == ["prepare_contract", "register_collateral"]


def test_a_redesign_with_both_signatures_in_one_lane_still_needs_two_people(engine, driver, tmp_path):
    from tests.integration.test_payments import redesign
    folder = redesign(tmp_path)
    text = (folder / "origination.bpmn").read_text("utf-8")
    text = text.replace("<bpmn:flowNodeRef>sign_risk</bpmn:flowNodeRef>", "")
    text = text.replace("<bpmn:flowNodeRef>sign_business</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>sign_business</bpmn:flowNodeRef><bpmn:flowNodeRef>sign_risk</bpmn:flowNodeRef>")
    (folder / "origination.bpmn").write_text(text, "utf-8")
    engine.deploy([folder], actor=None, source="cli")
    ref = signed_once(driver, "cm_li")
    assert driver.item(ref, "sign_risk").role == "customer_manager"
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_risk", "cm_li")
    assert refused.value.rule == "SOD-13"
