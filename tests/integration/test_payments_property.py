"""Property: whatever amounts an accounting operator types over several drawdowns, the sum paid never exceeds the
approval, every payment follows a review of its own, and a refused payment leaves the loan exactly as it was."""
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.clock import ManualClock
from engine.errors import EngineError
from engine.store.db import Database, sqlite_url
from engine.store.models import AuditEvent, Loan, Payment
from engine.store.schema import upgrade

from ..conftest import START
from .conftest import SMALL, Driver
from .test_atomicity import snapshot

APPROVED = Decimal("2000000")
attempts = st.lists(st.tuples(st.sampled_from([-1, 0, 1, 499_999.99, 700_000, 1_000_000, 1_999_999.99, 2_000_000,
                                               2_000_000.01, 9_999_999]),
                              st.booleans(), st.sampled_from(["CNY", "CNY", "USD"])), min_size=1, max_size=8)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tries=attempts)
def test_random_drawdowns_never_exceed_the_approval(tries):
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "pay.sqlite")
        db = Database(url)
        upgrade(db)
        db.dispose()
        engine = build_engine(url, clock=ManualClock(START))
        try:
            engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
            driver = Driver(engine, engine.clock)
            ref = engine.start_loan("cm_wang", {**SMALL, "amount": int(APPROVED)}, source="cli")
            driver.through_approval_dual(ref)
            driver.do(ref, "prepare_contract", "cm_wang")
            driver.do(ref, "register_collateral", "coll_hu")
            for amount, further, currency in tries:
                if "review_disbursement" in driver.open_steps(ref):
                    driver.do(ref, "review_disbursement", "disb_xu")
                if "execute_payment" not in driver.open_steps(ref):
                    break
                before = snapshot(engine, ref)
                try:
                    driver.do(ref, "execute_payment", "acct_ma", payment_amount=amount, further_drawdown=further,
                              currency=currency)
                except EngineError:
                    assert snapshot(engine, ref) == before
            with engine.db.reading() as session:
                loan = session.scalar(select(Loan).where(Loan.reference == ref))
                paid = session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.loan_id == loan.id))
                releases = session.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "payment_released"))
                payments = session.scalar(select(func.count()).select_from(Payment))
                assert Decimal(str(paid)) <= loan.approved_amount == APPROVED
                assert payments <= releases
                assert all(p.currency == "CNY" for p in session.scalars(select(Payment)))
        finally:
            engine.db.dispose()
