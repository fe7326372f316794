"""Dual signature (双签): the two signatures always come from two different people, even when one person holds both
grants, and even when a redesign draws both signatures in the same lane."""
from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select, update
from policies.loader import DEFAULT_POLICY, parse_policy

from engine.access import PolicyDenied
from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.store.models import AuditEvent, User
from tests.integration.conftest import Driver

pytestmark = pytest.mark.usefixtures("engine_mode")


def signed_once(driver, signer: str) -> str:
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", signer)
    return ref


@pytest.fixture
def second_cm(database_url, clock):
    """The policy option: a second customer manager, who did not work on the file, signs for the business."""
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    doc["parameters"]["business_signature_by"] = "second_customer_manager"
    doc["version"] = "test.second-cm"
    engine = build_engine(database_url, clock=clock, policy=parse_policy(yaml.safe_dump(doc, allow_unicode=True)))
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    yield engine, Driver(engine, clock)
    engine.db.dispose()


def test_a_person_holding_both_grants_cannot_sign_twice(second_cm):
    engine, driver = second_cm
    engine.grant_role("cm_li", "risk_manager", "BJ01", limit=5_000_000)
    ref = signed_once(driver, "cm_li")
    assert "sign_risk" not in [i.bpmn_id for i in engine.inbox("cm_li", "available")[0] if i.loan_ref == ref]
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_risk", "cm_li")
    assert refused.value.rule == "SOD-13"
    driver.do(ref, "sign_risk", "risk_liu")
    assert driver.open_steps(ref) == ["prepare_contract", "register_collateral"]


def test_a_redesign_with_both_signatures_in_one_lane_still_needs_two_people(second_cm, tmp_path):
    from tests.integration.test_payments import redesign
    engine, driver = second_cm
    folder = redesign(tmp_path)
    text = (folder / "origination.bpmn").read_text("utf-8")
    text = text.replace("<bpmn:flowNodeRef>sign_risk</bpmn:flowNodeRef>", "")
    text = text.replace("<bpmn:flowNodeRef>sign_business</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>sign_business</bpmn:flowNodeRef><bpmn:flowNodeRef>sign_risk</bpmn:flowNodeRef>")
    (folder / "origination.bpmn").write_text(text, "utf-8")
    engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = signed_once(driver, "cm_li")
    assert driver.item(ref, "sign_risk").role == "customer_manager"
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_risk", "cm_li")
    assert refused.value.rule == "SOD-13"


def test_the_originator_signs_the_business_signature_and_both_answer_for_the_approval(engine, driver):
    ref = driver.start()  # cm_wang holds the business: he originated and investigated it
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    sign = driver.item(ref, "sign_business")
    assert sign.candidate_user == "cm_wang" and sign.duty == "sign_business"
    assert sign.id not in [i.id for i in engine.inbox("cm_li", "available")[0]]
    with pytest.raises(PolicyDenied):
        engine.complete("cm_li", sign.id, {"decision": "approve", "conditions": "", "reason": "x"}, source="cli")
    driver.do(ref, "sign_business", "cm_wang")  # the investigator attests: SOD-01 is about the risk signature
    driver.do(ref, "sign_risk", "risk_liu")
    assert engine.loan(ref).approval.signers == (("cm_wang", "sign_business"), ("risk_liu", "approve"))


def test_with_the_originator_away_nobody_else_signs_for_the_business(engine, driver, clock):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    today = clock.now().date()
    engine.record_leave("cm_wang", today, today + timedelta(days=10))
    driver.do(ref, "review", "rev_chen")
    sign = driver.item(ref, "sign_business")
    assert sign.candidate_user is None  # away without a stand-in: the lane sees it, the policy still decides
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_business", "cm_li")
    assert refused.value.rule == "SIGN-01" and "cm_wang" in str(refused.value)


def test_with_the_originator_away_but_standing_in_for_the_business_signature_stays_theirs(engine, driver, clock):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    today = clock.now().date()
    engine.record_leave("cm_wang", today, today + timedelta(days=10))
    engine.delegate("cm_wang", "cm_zhao", today, today + timedelta(days=10))
    driver.do(ref, "review", "rev_chen")
    assert driver.item(ref, "sign_business").candidate_user == "cm_wang"  # a stand-in covers the absence
    with engine.db.reading() as session:
        assert not session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "assignee_unavailable", AuditEvent.loan_ref == ref))


def test_an_originator_no_longer_active_leaves_the_business_signature_to_the_lane(engine, driver):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    with engine.db.transaction() as session:
        session.execute(update(User).where(User.username == "cm_wang").values(active=False))
    driver.do(ref, "review", "rev_chen")
    assert driver.item(ref, "sign_business").candidate_user is None
    with engine.db.reading() as session:
        detail = session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "assignee_unavailable",
                                                                AuditEvent.loan_ref == ref))
    assert detail == {"assignee": "cm_wang", "offered_to": "customer_manager"}


def test_a_bank_may_require_a_second_customer_manager_instead(second_cm):
    engine, driver = second_cm
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    assert driver.item(ref, "sign_business").candidate_user is None
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_business", "cm_wang")  # he worked on the file
    assert refused.value.rule == "SIGN-01" and "you originated it" in str(refused.value)
    driver.do(ref, "sign_business", "cm_li")
    driver.do(ref, "sign_risk", "risk_liu")
    assert engine.loan(ref).approval.signers == (("cm_li", "sign_business"), ("risk_liu", "approve"))


def test_the_investigator_holding_a_risk_grant_may_not_sign_the_risk_signature(engine, driver):
    engine.grant_role("cm_wang", "risk_manager", "BJ01", limit=5_000_000)
    ref = signed_once(driver, "cm_wang")
    assert driver.item(ref, "sign_risk").id not in [i.id for i in engine.inbox("cm_wang", "available")[0]]
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_risk", "cm_wang")
    assert refused.value.rule == "SOD-01"
