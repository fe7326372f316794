"""A driver that does named tasks as named people through the engine API (state is saved and restored each step)."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from engine.simulation.documents import attach_required
from engine.simulation.staff import seed_team

SMALL = {"borrower": "Hengda Precision Machining Co., Ltd.", "product": "working_capital", "amount": 1_500_000,
         "term_months": 12, "small_enterprise": True}

FORMS = {
    "investigate": {"findings": "Cash flow covers debt service 1.8x.", "repayment_source": "Operating cash flow",
                    "recommendation": "proceed"},
    "assist_investigation": {"assist_findings": "Site visit confirms inventory.", "assist_opinion": "concur"},
    "review": {"opinion": "Risks identified and mitigated.", "decision": "pass"},
    "sign_business": {"decision": "approve", "conditions": "", "reason": "Within appetite."},
    "sign_risk": {"decision": "approve", "conditions": "", "reason": "Within my limit."},
    "committee_vote": {"decision": "approve", "conditions": "", "reason": "Sound file."},
    "chair_veto": {"decision": "no_veto", "reason": "No objection."},
    "prepare_contract": {"contract_number": "HT-2026-001", "signed_on": "2026-11-20"},
    "register_collateral": {"collateral_description": "Factory building, Shunyi", "registration_number": "DJ-88",
                            "collateral_value": 3_000_000},
    "review_disbursement": {"decision": "conditions_met", "remarks": "All conditions met."},
    "execute_payment": {"payment_reference": "PAY-1", "payment_amount": 1_500_000},
    "execute_entrusted_payment": {"counterparty_name": "Supplier Ltd.", "counterparty_account": "6222 0000 1111",
                                  "payment_reference": "PAY-2", "payment_amount": 8_000_000},
    "lead_inspection": {"visit_date": "2026-12-05", "inspection_findings": "Operating normally.",
                        "repayment_status": "current"},
    "assist_inspection": {"observations": "Inventory consistent with books."},
    "review_inspection_report": {"disposition": "normal", "classification": "normal", "remarks": "No change."},
    "review_closure": {"closure_summary": "Repaid as agreed.", "closure_lessons": "None.",
                       "relationship_rating": "good"},
    "archive_file": {"archive_reference": "AR-1"},
}


class Driver:
    def __init__(self, engine, clock):
        self.engine = engine
        self.clock = clock
        seed_team(engine, None)

    def start(self, originator: str = "cm_wang", **application) -> str:
        return self.engine.start_loan(originator, {**SMALL, **application}, source="cli")

    def items(self, ref: str, bpmn_id: str | None = None):
        return [i for i in self.engine.loan_items(ref) if bpmn_id is None or i.bpmn_id == bpmn_id]

    def item(self, ref: str, bpmn_id: str, user: str | None = None):
        items = self.items(ref, bpmn_id)
        found = [i for i in items if user is None or i.candidate_user in (None, user)] or items
        assert found, f"no {bpmn_id} on {ref}; open: {[i.bpmn_id for i in self.items(ref)]}"
        return found[0]

    def do(self, ref: str, bpmn_id: str, user: str, **data):
        item = self.item(ref, bpmn_id, user)
        attach_required(self.engine, user, item.id)  # the checklist's required documents, as samples
        self.engine.complete(user, item.id, {**FORMS.get(bpmn_id, {}), **data}, source="cli")
        return item

    def open_steps(self, ref: str) -> list[str]:
        return sorted(i.bpmn_id for i in self.items(ref))

    def approve_reviews(self, ref: str, user: str = "cro_gao") -> int:
        """Approve each open classification review (the quarterly ones the rules open) at the proposed class."""
        items = self.items(ref, "approve_classification")
        for item in items:
            proposed = self.engine.task(user, item.id).data["proposal"]["proposed_classification"]
            self.engine.complete(user, item.id, {"approval": "approve", "classification": proposed,
                                                 "approval_reason": "Periodic review."}, source="cli")
        return len(items)

    def through_approval_dual(self, ref: str):
        self.do(ref, "investigate", "cm_wang")
        self.do(ref, "review", "rev_chen")
        self.do(ref, "sign_business", "cm_wang")
        self.do(ref, "sign_risk", "risk_liu")

    def through_disbursement(self, ref: str, payment: str = "execute_payment", register_collateral=None):
        self.do(ref, "prepare_contract", "cm_wang")
        self.do(ref, "register_collateral", "coll_hu", **(register_collateral or {}))
        self.do(ref, "review_disbursement", "disb_xu")
        self.do(ref, payment, "acct_ma")


@pytest.fixture
def driver(engine, clock):
    return Driver(engine, clock)


# The core banking system's account, and what it reports of a loan (tests of the feed and of what acts on it).
FEED = "core_feed"


@pytest.fixture
def feed(engine):
    engine.add_user(FEED, None, "核心系统")
    engine.grant_role(FEED, "core_banking")
    return FEED


def disbursed_loan(driver, **application) -> str:
    """A loan through a dual signature and its disbursement, its post-loan manager assigned."""
    ref = driver.start(**application)
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    return ref


def feed_position(ref: str, **changes) -> dict:
    """A current position of 1,500,000 outstanding, last repaid on 2026-11-30; `changes` override any field."""
    return {"loan": ref, "contract_number": "HT-2026-001", "maturity_date": "2027-11-20",
            "outstanding_principal": "1500000.00", "overdue_principal": "0", "overdue_interest": "0",
            "days_past_due": 0, "last_repayment_date": "2026-11-30", "last_repayment_amount": "6250.00", **changes}


@pytest.fixture
def statements(engine):
    """The SQL statements the engine sends while the test runs (whitespace folded)."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(engine.db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine.db.engine, "before_cursor_execute", count)
