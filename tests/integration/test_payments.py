"""Money follows the approval: the engine refuses any payment the approval does not cover, whatever the form says."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import InvalidInput, NotAllowed
from engine.store.models import Loan, Payment

pytestmark = pytest.mark.usefixtures("engine_mode")


def approved_and_released(driver, **application) -> str:
    ref = driver.start(**application)
    driver.through_approval_dual(ref)
    driver.do(ref, "prepare_contract", "cm_wang")
    if "register_collateral" in driver.open_steps(ref):
        driver.do(ref, "register_collateral", "coll_hu")
    driver.do(ref, "review_disbursement", "disb_xu")
    return ref


def paid(engine, ref: str) -> list[Decimal]:
    with engine.db.reading() as session:
        loan = session.query(Loan).filter_by(reference=ref).one()
        return [p.amount for p in session.query(Payment).filter_by(loan_id=loan.id).order_by(Payment.id)]


def redesign(tmp_path, replace: tuple[str, str] | None = None):
    """A copy of the bundled processes, optionally with one piece of origination.bpmn replaced."""
    from engine.bootstrap import BUNDLED_BPMN
    folder = tmp_path / "redesign"
    (folder / "forms").mkdir(parents=True)
    for path in BUNDLED_BPMN.glob("*.*"):
        (folder / path.name).write_text(path.read_text("utf-8"), "utf-8")
    for path in (BUNDLED_BPMN / "forms").glob("*.json"):
        (folder / "forms" / path.name).write_text(path.read_text("utf-8"), "utf-8")
    if replace:
        text = (folder / "origination.bpmn").read_text("utf-8")
        assert replace[0] in text
        (folder / "origination.bpmn").write_text(text.replace(*replace), "utf-8")
    return folder


def field_error(excinfo, field: str) -> str:
    template, params = excinfo.value.field_templates[field]
    return template % params if params else template


def test_a_payment_above_the_approval_is_refused_and_changes_nothing(engine, driver):
    ref = approved_and_released(driver)
    before = driver.open_steps(ref)
    with pytest.raises(InvalidInput) as excinfo:
        driver.do(ref, "execute_payment", "acct_ma", payment_amount=9_999_999)
    assert "1500000" in field_error(excinfo, "payment_amount").replace(",", "")
    assert driver.open_steps(ref) == before and paid(engine, ref) == []


def test_an_amount_just_above_the_approval_is_refused_too(engine, driver):
    ref = approved_and_released(driver, amount=2_000_000)
    with pytest.raises(InvalidInput):
        driver.do(ref, "execute_payment", "acct_ma", payment_amount=2_100_000)
    driver.do(ref, "execute_payment", "acct_ma", payment_amount=2_000_000)
    assert paid(engine, ref) == [Decimal("2000000")]


def test_a_payment_in_another_currency_is_refused(engine, driver):
    ref = approved_and_released(driver)
    with pytest.raises(InvalidInput) as excinfo:
        driver.do(ref, "execute_payment", "acct_ma", payment_amount=1_000_000, currency="USD")
    assert "CNY" in field_error(excinfo, "currency")


ENTRUSTED = dict(new_relationship=True, rating="average")  # a new relationship rated average: entrusted


@pytest.mark.parametrize("field, value", [
    ("counterparty_account", "not-an-account!!"),
    ("counterparty_account", "12345"),
    ("counterparty_name", "Hengda Precision Machining Co., Ltd."),
    ("counterparty_name", "  hengda precision machining co., ltd. "),
])
def test_an_entrusted_payment_goes_to_a_real_counterparty_account(engine, driver, field, value):
    ref = approved_and_released(driver, **ENTRUSTED)
    with pytest.raises(InvalidInput) as excinfo:
        driver.do(ref, "execute_entrusted_payment", "acct_ma", payment_amount=1_000_000, **{field: value})
    assert list(excinfo.value.field_templates) == [field]
    assert paid(engine, ref) == []
    driver.do(ref, "execute_entrusted_payment", "acct_ma", payment_amount=1_000_000)
    assert paid(engine, ref) == [Decimal("1000000")]


def test_several_drawdowns_each_reviewed_never_exceed_the_approval(engine, driver):
    ref = approved_and_released(driver, amount=3_000_000)
    driver.do(ref, "execute_payment", "acct_ma", payment_amount=1_000_000, payment_reference="PAY-A",
              further_drawdown=True)
    assert driver.open_steps(ref)[-1] == "review_disbursement" or "review_disbursement" in driver.open_steps(ref)
    assert engine.loan(ref).status == "disbursed"  # the first drawdown hands the loan to post-loan
    driver.do(ref, "review_disbursement", "disb_xu")
    with pytest.raises(InvalidInput):
        driver.do(ref, "execute_payment", "acct_ma", payment_amount=2_000_001, payment_reference="PAY-B")
    driver.do(ref, "execute_payment", "acct_ma", payment_amount=2_000_000, payment_reference="PAY-B")
    assert paid(engine, ref) == [Decimal("1000000"), Decimal("2000000")]
    assert "execute_payment" not in driver.open_steps(ref) and "review_disbursement" not in driver.open_steps(ref)
    post_loan = [i for i in engine.loan(ref).instances if i.process_id == "post_loan"]
    assert len(post_loan) == 1  # one post-loan process, started by the first drawdown


def test_a_further_drawdown_is_refused_when_nothing_is_left(engine, driver):
    ref = approved_and_released(driver)
    with pytest.raises(InvalidInput) as excinfo:
        driver.do(ref, "execute_payment", "acct_ma", payment_amount=1_500_000, further_drawdown=True)
    assert "further_drawdown" in excinfo.value.field_templates


def test_the_approved_terms_cannot_be_edited_by_a_later_task(engine, driver, tmp_path):
    """Even a redesigned contract form that asks for the amount cannot change what was approved."""
    import json
    folder = redesign(tmp_path)
    form = json.loads((folder / "forms" / "prepare_contract.schema.json").read_text("utf-8"))
    form["properties"]["amount"] = {"type": "number", "title": "Amount"}
    (folder / "forms" / "prepare_contract.schema.json").write_text(json.dumps(form), "utf-8")
    engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = driver.start()
    driver.through_approval_dual(ref)
    with pytest.raises(InvalidInput) as excinfo:
        driver.do(ref, "prepare_contract", "cm_wang", amount=9_000_000)
    assert "amount" in excinfo.value.field_templates
    with engine.db.reading() as session:
        loan = session.query(Loan).filter_by(reference=ref).one()
        assert loan.approved_amount == Decimal("1500000") and loan.approved_term_months == 12


@pytest.mark.parametrize("guarantee", ["unsecured", "guaranteed"])
def test_unsecured_and_guaranteed_loans_skip_collateral_and_keep_the_guarantor(engine, driver, guarantee):
    extra = {"guarantor": "Beijing Guarantee Co."} if guarantee == "guaranteed" else {}
    ref = driver.start(guarantee_type=guarantee, **extra)
    driver.through_approval_dual(ref)
    assert "register_collateral" not in driver.open_steps(ref)
    driver.do(ref, "prepare_contract", "cm_wang")
    driver.do(ref, "review_disbursement", "disb_xu")
    driver.do(ref, "execute_payment", "acct_ma")
    assert engine.loan(ref).application.get("guarantor") == extra.get("guarantor")


def test_a_guaranteed_loan_names_its_guarantor(engine, driver):
    with pytest.raises(InvalidInput) as excinfo:
        driver.start(guarantee_type="guaranteed")
    assert "guarantor" in excinfo.value.field_templates or "guarantor" in (excinfo.value.fields or {})


def test_nothing_is_paid_before_the_disbursement_review_releases_it(engine, driver, tmp_path):
    """A redesign without a release step is refused at deployment; and the engine itself refuses a payment that no
    review released, whatever route led to it."""
    from engine.runtime.validation import DeploymentRejected
    folder = redesign(tmp_path, ('<spiffworkflow:property name="loan_event" value="released" />', ""))
    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert "loan_event 'released'" in str(rejected.value.problems)
    ref = approved_and_released(driver)
    with engine.db.transaction() as session:  # as if the route had skipped the review
        session.query(Loan).filter_by(reference=ref).one().released_at = None
    with pytest.raises(NotAllowed) as excinfo:
        driver.do(ref, "execute_payment", "acct_ma")
    assert "review" in str(excinfo.value)
    assert paid(engine, ref) == []


def test_a_secured_loan_is_never_paid_before_its_collateral_is_registered(engine, driver, tmp_path):
    folder = redesign(tmp_path, ('<spiffworkflow:property name="loan_event" value="collateral_registered" />', ""))
    engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = approved_and_released(driver)
    with pytest.raises(NotAllowed) as excinfo:
        driver.do(ref, "execute_payment", "acct_ma")
    assert "collateral" in str(excinfo.value)


def test_the_reviewer_closes_the_undrawn_facility_and_the_loop_ends(engine, driver):
    ref = approved_and_released(driver, amount=3_000_000)
    driver.do(ref, "execute_payment", "acct_ma", payment_amount=1_000_000, further_drawdown=True)
    driver.do(ref, "review_disbursement", "disb_xu", decision="close_facility", remarks="Borrower needs no more.")
    origination = next(i for i in engine.loan(ref).instances if i.process_id == "origination")
    assert origination.status == "completed" and engine.loan(ref).status == "disbursed"
    assert paid(engine, ref) == [Decimal("1000000")]


def test_a_refused_payment_is_recorded_as_a_refusal(engine, driver):
    from engine.store.models import AuditEvent
    ref = approved_and_released(driver)
    with pytest.raises(InvalidInput):
        driver.do(ref, "execute_payment", "acct_ma", payment_amount=9_999_999)
    with pytest.raises(InvalidInput):
        driver.do(ref, "execute_payment", "acct_ma", payment_amount=100.005)
    with engine.db.reading() as session:
        refusals = [(e.actor, e.rule) for e in session.query(AuditEvent).filter_by(action="refused", loan_ref=ref)]
    assert refusals == [("acct_ma", "PAY-AMOUNT")] * 2
