"""Risk-warning deadlines through the engine count China's business days: National Day off, 调休 Saturdays worked."""
from datetime import datetime, timezone

BEIJING_10AM = 2  # 02:00 UTC


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, BEIJING_10AM, 0, tzinfo=timezone.utc)


def test_a_warning_raised_before_national_day_is_due_after_it(engine, driver, clock):
    clock.set(at(9, 14))
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")

    clock.set(at(9, 29))  # Tuesday; 1-7 October are the National Day holiday
    engine.raise_warning("plm_guo", ref, "The borrower's main customer stopped paying.", source="cli")
    register = driver.item(ref, "register_warning")
    assert register.due_at == at(10, 8)  # Wednesday 30 September, then Thursday 8 October

    clock.set(at(10, 8))
    driver.do(ref, "register_warning", "cro_gao", registered_level="level_1", notes="Registered.")
    decide = driver.item(ref, "decide_warning")
    assert decide.due_at == at(10, 14)  # 9, 10 (Saturday, worked: 调休), 12, 13 and 14 October
