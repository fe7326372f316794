"""Helpers shared by the web and browser tests: the test password, CSRF tokens, sign-in, loans in known states."""
from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.clock import ManualClock
from engine.store.db import Database, sqlite_url
from engine.store.schema import upgrade
from engine.simulation.documents import attach_required
from engine.simulation.staff import seed_team

PASSWORD = "web-test-pass-1"
START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # as tests/conftest.py's clock
SMALL = {"borrower": "Hengda Precision Machining Co., Ltd.", "product": "working_capital", "amount": 1_500_000,
         "term_months": 12, "small_enterprise": True}
FORMS = {
    "investigate": {"findings": "Cash flow covers debt service 1.8x.", "repayment_source": "Operating cash flow",
                    "recommendation": "proceed"},
    "review": {"opinion": "Risks identified and mitigated.", "decision": "pass"},
    "sign_business": {"decision": "approve", "conditions": "", "reason": "Within appetite."},
    "sign_risk": {"decision": "approve", "conditions": "", "reason": "Within my limit."},
}
# Tables that hold loans and their history; users and deployed processes survive between PostgreSQL tests.
CASE_TABLES = ("work_item", "duty_record", "process_instance", "loan", "audit_event", "audit_checkpoint",
               "audit_verification", "api_token",
               "leave", "delegation", "pending_message", "incident", "payment", "customer", "customer_group",
               "document", "task_draft", "notification", "outbox", "process_change", "policy_version")
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def prepare_database(url: str, now: datetime) -> None:
    """Deploy the bundled processes and seed the standard team with the test password."""
    engine = build_engine(url, clock=ManualClock(now))
    engine.deploy([BUNDLED_BPMN], actor=None, source="cli")
    seed_team(engine, PASSWORD)
    engine.db.dispose()


def seeded_sqlite_template(path: Path) -> Path:
    """A migrated, deployed, staffed SQLite file to copy for each test."""
    db = Database(sqlite_url(path))
    upgrade(db)
    db.dispose()
    prepare_database(sqlite_url(path), START)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def csrf_token(client, path: str = "/auth/login") -> str:
    response = client.get(path)
    match = CSRF.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, username: str = "cm_wang", password: str = PASSWORD):
        return self.client.post("/auth/login", data={"username": username, "password": password,
                                                     "csrf_token": csrf_token(self.client)})

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(self.client, "/")})

    def post(self, path: str, data: dict | None = None, **kwargs):
        """A form post with this session's CSRF token, as the browser would send it."""
        return self.client.post(path, data={**(data or {}), "csrf_token": csrf_token(self.client, "/")}, **kwargs)


class Loans:
    """Puts loans in a known state through the engine API."""

    def __init__(self, engine):
        self.engine = engine

    def start(self, originator: str = "cm_wang", **application) -> str:
        return self.engine.start_loan(originator, {**SMALL, **application}, source="cli")

    def item(self, ref: str, bpmn_id: str):
        found = [i for i in self.engine.loan_items(ref) if i.bpmn_id == bpmn_id]
        assert found, f"no {bpmn_id} on {ref}: {[i.bpmn_id for i in self.engine.loan_items(ref)]}"
        return found[0]

    def ready(self, ref: str, bpmn_id: str, user: str):
        """The task with the documents its checklist requires attached (as samples) by `user`."""
        item = self.item(ref, bpmn_id)
        attach_required(self.engine, user, item.id)
        return item

    def do(self, ref: str, bpmn_id: str, user: str, **data):
        item = self.item(ref, bpmn_id)
        attach_required(self.engine, user, item.id)  # the checklist's required documents, as samples
        self.engine.complete(user, item.id, {**FORMS.get(bpmn_id, {}), **data}, source="cli")
        return item

    def other_branch_staff(self) -> None:
        """A customer manager and a reviewer in Shanghai, for object-access checks."""
        existing = set(self.engine.usernames())
        for username, role in (("cm_sh", "customer_manager"), ("rev_sh", "credit_reviewer")):
            if username in existing:  # PostgreSQL keeps the staff between tests
                continue
            self.engine.add_user(username, PASSWORD, username)
            self.engine.grant_role(username, role, "SH01")

    def dual_hat(self, username: str = "cm_dual") -> str:
        """A customer manager who also holds a risk manager grant (CNY 5m): the person segregation must stop."""
        if username not in set(self.engine.usernames()):  # PostgreSQL keeps the staff between tests
            self.engine.add_user(username, PASSWORD, username)
            self.engine.grant_role(username, "customer_manager", "BJ01")
            self.engine.grant_role(username, "risk_manager", "BJ01", limit=5_000_000)
        return username

    def at_risk_signature(self) -> tuple[str, str]:
        """A loan whose originator investigated it, signed its business signature and holds a risk grant; returns
        (reference, that person): the risk signature must be refused to them (SOD-01)."""
        person = self.dual_hat()
        ref = self.at_approval(person)
        self.do(ref, "sign_business", person)
        return ref, person

    def released(self) -> str:
        """A loan approved by dual signature, contracted, its collateral registered and its payment released."""
        ref = self.start()
        for step, user in (("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"),
                           ("sign_risk", "risk_liu")):
            self.do(ref, step, user)
        self.do(ref, "prepare_contract", "cm_wang", contract_number="HT-9", signed_on="2026-11-20")
        self.do(ref, "register_collateral", "coll_hu", collateral_description="Plant", registration_number="DJ-9",
                collateral_value=3_000_000)
        self.do(ref, "review_disbursement", "disb_xu", decision="conditions_met", remarks="All met.")
        return ref

    def disbursed(self) -> str:
        """A loan paid out (its post-loan file started)."""
        ref = self.released()
        self.do(ref, "execute_payment", "acct_ma", payment_reference="PAY-9", payment_amount=1_500_000)
        return ref

    def core_banking(self, username: str = "core_feed") -> str:
        """The core banking system's own account (role core_banking), which reports loan positions."""
        if username not in set(self.engine.usernames()):  # PostgreSQL keeps the staff between tests
            self.engine.add_user(username, None, "核心系统")
            self.engine.grant_role(username, "core_banking")
        return username

    def substandard(self) -> str:
        """A disbursed loan the core banking feed reports 95 days past due, classified substandard by cro_gao."""
        ref = self.disbursed()
        position = {"loan": ref, "contract_number": "HT-9", "maturity_date": "2027-11-20",
                    "schedule": "Monthly interest, principal at maturity", "outstanding_principal": "1500000.00",
                    "overdue_principal": "125000.00", "overdue_interest": "6250.00", "days_past_due": 95,
                    "last_repayment_date": "2026-11-30", "last_repayment_amount": "6250.00"}
        self.engine.import_positions("2027-03-10", [position], actor=self.core_banking(), source="api")
        self.do(ref, "approve_classification", "cro_gao", approval="approve", classification="substandard",
                approval_reason="95 days past due.")
        return ref

    def at_approval(self, originator: str = "cm_wang") -> str:
        ref = self.start(originator)
        self.do(ref, "investigate", originator)
        self.do(ref, "review", "rev_chen")
        return ref
