"""`creditflow simulate` drives the core banking feed too: every disbursed loan's position is reported, loans that fall
behind get the floors' classification reviews, and those that become non-performing go to workout before the
recoveries settle them."""
from engine.simulation.driver import FEED, Simulation


def test_the_simulated_feed_moves_loans_through_floors_workout_and_settlement(engine, clock):
    simulation = Simulation(engine, clock, seed=11, inspections=1)
    summary = simulation.run(14)
    assert not summary.stuck
    disbursed = sum(summary.fates.values())
    assert disbursed == summary.outcomes["closed"] == len(simulation.ledger)
    assert summary.fates["nonperforming"] >= 1 and summary.fates["performing"] >= 1

    for ref, plan in simulation.ledger.items():
        loan = engine.loan(ref)
        assert loan.status == "closed" and loan.account is not None
        assert loan.account.outstanding_principal == 0  # settled by the feed, not by a person
        processes = {i.process_id for i in loan.instances}
        if plan["fate"] == "nonperforming":
            assert loan.classification in ("substandard", "doubtful", "loss")
            assert "workout" in processes and "classification" in processes
        elif plan["fate"] == "performing":
            assert loan.classification == "normal" and "classification" not in processes
    assert engine.count_events("position_recorded") == summary.positions > disbursed
    assert summary.rule_reviews >= summary.fates["nonperforming"] * 2  # special mention, then substandard
    assert summary.workouts == summary.fates["nonperforming"]
    text = summary.render()
    assert "Core banking feed" in text and "moved to workout" in text


def test_the_simulation_reports_as_the_core_banking_account(engine, clock):
    Simulation(engine, clock, seed=3)
    assert FEED in engine.users_with_role("core_banking")
    assert FEED not in engine.users_with_role("customer_manager")
