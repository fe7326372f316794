"""Changes to a disbursed loan: an extension (展期) moves the same loan's maturity after an approval one tier up; a
refinancing (借新还旧) or restructuring (重组) is a new linked loan, floored, that settles the loan it replaces."""
from datetime import date, datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidInput, NotAllowed
from engine.store.models import AuditEvent, Loan, Payment
from tests.integration.conftest import FORMS

pytestmark = pytest.mark.usefixtures("engine_mode")

FEED = "core_feed"
MEMBERS = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]
INVESTIGATION = {"extension_findings": "A large customer pays 90 days late this season.",
                 "repayment_source": "Receivables due in the first quarter.", "guarantee_confirmed": True,
                 "recommendation": "proceed"}


def disbursed(driver, ref=None) -> str:
    ref = ref or driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    return ref


def feed(engine, ref, as_of, **changes):
    if FEED not in engine.users_with_role("core_banking", None):
        engine.add_user(FEED, None, "核心系统")
        engine.grant_role(FEED, "core_banking")
    row = {"loan": ref, "contract_number": "HT-2026-001", "maturity_date": "2027-05-20", "schedule": "At maturity",
           "outstanding_principal": "1500000.00", "overdue_principal": "0", "overdue_interest": "0",
           "days_past_due": 0, **changes}
    summary = engine.import_positions(as_of, [row], actor=FEED, source="api")
    assert summary.accepted == [ref], summary


def committee_approves(driver, ref, prefix=""):
    """The committee of the extension's tier, or of the new loan's: its steps are the same but for the prefix."""
    driver.do(ref, prefix + "convene_committee", "chair_huang", committee_members=MEMBERS, meeting_date="2026-11-20")
    for member in MEMBERS:
        driver.do(ref, prefix + "committee_vote", member, **FORMS["committee_vote"])
    driver.do(ref, prefix + "chair_veto", "chair_huang", **FORMS["chair_veto"])


def counts(engine):
    with engine.db.reading() as session:
        return (session.scalar(select(func.count()).select_from(Loan)),
                session.scalar(select(func.count()).select_from(Payment)))


def audit(engine, action):
    with engine.db.reading() as session:
        return [SimpleNamespace(loan_ref=e.loan_ref, actor=e.actor, process_id=e.process_id, rule=e.rule,
                                detail=e.detail)
                for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                         .order_by(AuditEvent.id))]


def test_an_extension_before_maturity_moves_the_same_loans_maturity_after_a_committee(engine, driver):
    ref = disbursed(driver)
    feed(engine, ref, "2026-12-04")
    assert engine.loan(ref).maturity_date == date(2027, 5, 20)
    loans_before, payments_before = counts(engine)

    engine.request_extension("cm_wang", ref, 6, "Receivables delayed by a large customer.", source="cli")
    assert driver.open_steps(ref) == ["investigate_extension"]
    assert driver.item(ref, "investigate_extension").candidate_user == "cm_wang"
    with pytest.raises(NotAllowed, match="already under way"):
        engine.request_extension("cm_wang", ref, 3, "Again.", source="cli")
    driver.do(ref, "investigate_extension", "cm_wang", **INVESTIGATION)
    driver.do(ref, "extension_review", "rev_chen", **FORMS["review"])
    assert driver.open_steps(ref) == ["extension_convene_committee"]  # a new loan of 1.5 million: dual signature; one tier up
    assert engine.loan_tier(ref) == "branch_committee"
    committee_approves(driver, ref, "extension_")

    loan = engine.loan(ref)
    assert (loan.maturity_date, loan.extensions, loan.status) == (date(2027, 11, 20), 1, "disbursed")
    assert loan.approval.amount == 1_500_000 and loan.approval.paid == 1_500_000
    assert counts(engine) == (loans_before, payments_before)  # the same loan; no money moved
    (event,) = audit(engine, "loan_extended")
    assert event.loan_ref == ref
    assert event.detail["before"] == {"maturity_date": "2027-05-20", "extensions": 0}
    assert event.detail["after"] == {"maturity_date": "2027-11-20", "extensions": 1}
    (extension,) = [i for i in loan.instances if i.process_id == "extension"]
    assert extension.status == "completed"
    with pytest.raises(NotAllowed, match="allows 1"):
        engine.request_extension("cm_wang", ref, 3, "Once more.", source="cli")
    # the feed still reports the old maturity, three weeks away: the extended loan is not near maturity
    feed(engine, ref, "2027-05-01", outstanding_principal="1499999.00")
    assert [e for e in audit(engine, "warning_raised") if e.rule == "WARN-MATURITY"] == []


def test_an_extension_after_maturity_is_refused_naming_the_maturity_and_nothing_changes(engine, driver, clock):
    ref = disbursed(driver)
    feed(engine, ref, "2026-12-04")
    clock.set(datetime(2027, 5, 21, 2, 0, tzinfo=timezone.utc))
    with pytest.raises(NotAllowed) as refused:
        engine.request_extension("cm_wang", ref, 6, "Too late.", source="cli")
    assert "matured on 2027-05-20" in str(refused.value) and "before maturity" in str(refused.value)
    loan = engine.loan(ref)
    assert (loan.maturity_date, loan.extensions) == (date(2027, 5, 20), 0)
    assert [i for i in loan.instances if i.process_id == "extension"] == []
    assert audit(engine, "extension_requested") == []
    (refusal,) = [e for e in audit(engine, "refused") if e.loan_ref == ref]
    assert (refusal.actor, refusal.rule, refusal.detail["attempted"]) == ("cm_wang", "EXT-MATURITY",
                                                                          "request_extension")
    assert refusal.detail["params"]["maturity"] == "2027-05-20"


def test_without_a_feed_maturity_is_the_first_drawdown_plus_the_approved_term(engine, driver, clock):
    ref = disbursed(driver)
    due = engine.loan(ref).maturity_date
    assert due is not None and (due.year, due.month) == (2027, 11)
    with pytest.raises(InvalidInput):
        engine.request_extension("cm_wang", ref, 13, "Longer than the term.", source="cli")  # at most 12 months
    clock.set(datetime(due.year, due.month, due.day, 2, 0, tzinfo=timezone.utc))
    with pytest.raises(NotAllowed, match=f"matured on {due.isoformat()}"):
        engine.request_extension("cm_wang", ref, 6, "On the day.", source="cli")


def test_the_extensions_investigator_cannot_approve_it(engine, driver):
    ref = disbursed(driver)
    engine.grant_role("cm_li", "committee_member", "BJ01")
    engine.request_extension("cm_li", ref, 6, "The account moved to me.", source="cli")
    driver.do(ref, "investigate_extension", "cm_li", **INVESTIGATION)
    driver.do(ref, "extension_review", "rev_chen", **FORMS["review"])
    with pytest.raises(InvalidInput) as refused:
        driver.do(ref, "extension_convene_committee", "chair_huang", committee_members=["cm_li", *MEMBERS[1:]],
                  meeting_date="2026-11-20")
    assert "committee_members" in refused.value.field_templates
    assert refused.value.audit_fields["rule"] == "SOD-01"
    assert engine.loan(ref).maturity_date.year == 2027 and engine.loan(ref).extensions == 0


def test_refinancing_creates_a_linked_loan_one_tier_up_floored_at_special_mention(engine, driver):
    old = disbursed(driver, driver.start(borrower_id="91350100M000100Y43"))
    feed(engine, old, "2026-12-04", outstanding_principal="1200000.00")
    new = engine.replace_loan("cm_wang", old, "refinancing", source="cli")
    assert new != old
    loan, replaced = engine.loan(new), engine.loan(old)
    assert (loan.loan_type, loan.amount, loan.replaces, loan.classification) == (
        "refinancing", 1_200_000, old, "special_mention")
    assert Decimal(loan.application["group_exposure"]) == 1_200_000  # the loan it replaces is not counted twice
    assert replaced.replaced_by == (new,) and replaced.status == "disbursed"
    with pytest.raises(NotAllowed, match="already being replaced"):
        engine.replace_loan("cm_wang", old, "restructuring", source="cli")

    driver.do(new, "investigate", "cm_wang")
    driver.do(new, "review", "rev_chen")
    assert driver.open_steps(new) == ["convene_committee"]  # dual signature for a new loan of this size
    committee_approves(driver, new)
    driver.do(new, "prepare_contract", "cm_wang")
    driver.do(new, "register_collateral", "coll_hu")
    driver.do(new, "review_disbursement", "disb_xu")
    driver.do(new, "execute_payment", "acct_ma", payment_amount=1_200_000)

    replaced = engine.loan(old)
    assert (replaced.status, replaced.stage) == ("settled", "closed")
    assert all(i.status == "completed" for i in replaced.instances) and driver.items(old) == []
    (settled,) = audit(engine, "loan_settled")
    assert settled.loan_ref == old and settled.detail["settled_by"] == "refinancing"
    assert settled.detail["before"]["status"] == "disbursed" and settled.detail["new_loan"] == new
    assert engine.loan(old).approval.paid == 1_500_000  # no repayment was booked on the old loan
    review = driver.item(new, "approve_classification")
    with pytest.raises(InvalidInput, match="Refinanced or restructured"):
        driver.do(new, "approve_classification", "cro_gao", approval="approve", classification="normal",
                  approval_reason="Performing.")
    assert review.id == driver.item(new, "approve_classification").id
    driver.do(new, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
              approval_reason="Floor of a refinanced loan.")
    assert engine.loan(new).classification == "special_mention"


def test_a_restructured_npl_stays_substandard_through_the_observation_period(engine, driver, clock):
    old = disbursed(driver)
    feed(engine, old, "2027-03-10", days_past_due=95, overdue_principal="125000.00")
    driver.do(old, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="Floor.")
    assert engine.loan(old).classification == "substandard"

    new = engine.replace_loan("cm_wang", old, "restructuring", source="cli")
    assert engine.loan(new).classification == "substandard"
    driver.do(new, "investigate", "cm_wang")
    driver.do(new, "review", "rev_chen")
    committee_approves(driver, new)
    driver.through_disbursement(new)
    assert engine.loan(old).status == "settled"

    (opened,) = [e for e in audit(engine, "instance_started")
                 if e.loan_ref == new and e.process_id == "classification"]
    assert opened.actor == "system:restructuring"
    task = engine.task("cro_gao", driver.item(new, "approve_classification").id)
    assert task.data["proposal"]["restructuring_floor"] == "substandard"
    for better in ("normal", "special_mention"):
        with pytest.raises(InvalidInput, match="the floor is substandard"):
            driver.do(new, "approve_classification", "cro_gao", approval="approve", classification=better,
                      approval_reason="Paying again.")
    clock.advance(days=370)  # the observation period (12 months from the first drawdown) is over
    driver.do(new, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
              approval_reason="Twelve months of regular payments.")
    assert engine.loan(new).classification == "special_mention"


def test_only_a_disbursed_loan_is_extended_or_replaced(engine, driver):
    ref = driver.start()
    with pytest.raises(NotAllowed, match="only a disbursed loan can be extended"):
        engine.request_extension("cm_wang", ref, 6, "Not yet paid out.", source="cli")
    with pytest.raises(NotAllowed, match="only a disbursed loan can be refinanced"):
        engine.replace_loan("cm_wang", ref, "refinancing", source="cli")
    with pytest.raises(InvalidInput):
        engine.replace_loan("cm_wang", ref, "extension", source="cli")


def test_the_command_line_requests_an_extension_and_a_refinancing(engine, driver, database_url):
    from click.testing import CliRunner

    from engine.cli import main

    ref = disbursed(driver)
    feed(engine, ref, "2026-12-04", maturity_date="2099-12-31")  # the command line runs on today's date
    cli = CliRunner()
    extend = ["--database", database_url, "loans", "extend", ref, "--by", "cm_wang", "--months", "6",
              "--reason", "Receivables delayed."]
    done = cli.invoke(main, extend)
    assert done.exit_code == 0, done.output
    assert driver.open_steps(ref) == ["investigate_extension"]
    again = cli.invoke(main, extend)
    assert again.exit_code == 1 and "already under way" in again.output
    replace = ["--database", database_url, "loans", "replace", ref, "--by", "cm_wang", "--kind", "refinancing",
               "--amount", "1,000,000"]
    meanwhile = cli.invoke(main, replace)
    assert meanwhile.exit_code == 1 and "extension of loan" in meanwhile.output  # one change at a time
    other = disbursed(driver)
    replaced = cli.invoke(main, [*replace[:4], other, *replace[5:]])
    assert replaced.exit_code == 0, replaced.output
    (new,) = engine.loan(other).replaced_by
    assert new in replaced.output and engine.loan(new).amount == 1_000_000
    again = cli.invoke(main, ["--database", database_url, "loans", "extend", other, "--by", "cm_wang",
                              "--months", "3", "--reason", "Meanwhile."])
    assert again.exit_code == 1 and f"already being replaced by {new}" in again.output


def test_an_extension_and_a_restructuring_replay_exactly_as_they_went(engine, driver):
    from engine.bootstrap import BUNDLED_BPMN
    from engine.runtime.specs import collect_files

    extended = disbursed(driver)
    engine.request_extension("cm_wang", extended, 6, "Receivables delayed.", source="cli")
    driver.do(extended, "investigate_extension", "cm_wang", **INVESTIGATION)
    driver.do(extended, "extension_review", "rev_chen", **FORMS["review"])
    committee_approves(driver, extended, "extension_")
    new = engine.replace_loan("cm_wang", disbursed(driver), "restructuring", source="cli")
    driver.do(new, "investigate", "cm_wang")
    assert engine.loan(new).classification == "special_mention"
    report = engine.replay({f.name: f.data.decode("utf-8") for f in collect_files([BUNDLED_BPMN])})
    assert (report.total, report.same, report.differing) == (3, 3, [])
    assert {"extension", "origination"} <= set(report.processes)
