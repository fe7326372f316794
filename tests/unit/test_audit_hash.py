"""The chain's hash as written (rows straight from `AuditLog.record`) is the hash verification recomputes."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audit.chain import AuditLog, _recorded_hash, event_hash
from engine.clock import ManualClock

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=12),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.decimals(allow_nan=False, allow_infinity=False, places=2),
                    st.dates(), st.datetimes(timezones=st.sampled_from([None, timezone.utc,
                                                                        timezone(timedelta(hours=8))])))
details = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(detail=st.dictionaries(st.text(max_size=8), details, max_size=4),
       reason=st.one_of(st.none(), st.text(max_size=20)), version=st.one_of(st.none(), st.integers(1, 40)),
       occurred=st.one_of(st.none(), st.datetimes(timezones=st.just(timezone.utc))))
def test_a_recorded_row_hashes_as_verification_recomputes_it(detail, reason, version, occurred):
    log = AuditLog(session=None, source="cli", policy_version="2026.3",
                   clock=ManualClock(datetime(2026, 12, 5, 1, 2, 3, 456789, tzinfo=timezone.utc)))
    row = log.record("task_completed", actor="rev_chen", loan_ref="L-2026-000001", process_version=version,
                     reason=reason, detail=detail, **({"occurred_at": occurred} if occurred else {}))
    assert _recorded_hash("a" * 64, row) == event_hash("a" * 64, row)


def test_the_fields_that_need_care_are_written_the_way_verification_reads_them():
    log = AuditLog(session=None, source="web", policy_version=None, clock=ManualClock())
    row = log.record("loan_updated", detail={"amount": Decimal("1.50"), "on": date(2026, 1, 2), "ids": (1, 2)})
    assert row["detail"] == {"amount": "1.50", "on": "2026-01-02", "ids": [1, 2]}
    assert _recorded_hash("0" * 64, row) == event_hash("0" * 64, row) != event_hash("1" * 64, row)
