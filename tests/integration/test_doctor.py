"""`creditflow doctor`: a loan that nothing will ever move, or a task nobody may do, is always visible."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import delete, update

from engine.cli import main
from engine.store.models import ProcessInstance, RoleGrant, User, WorkItem


def doctor(database_url):
    return CliRunner().invoke(main, ["--database", database_url, "doctor"], env={"CREDITFLOW_LANG": "en"})


def test_doctor_finds_stuck_instances_and_unserved_tasks(engine, driver, database_url):
    healthy, stalled, unserved = driver.start(), driver.start(), driver.start()
    driver.do(unserved, "investigate", "cm_wang")
    assert doctor(database_url).exit_code == 0
    stalled_instance = engine.loan(stalled).instances[0].id
    with engine.db.transaction() as session:  # what a lost merge leaves behind: running, waiting for nothing
        session.execute(delete(WorkItem).where(WorkItem.instance_id == stalled_instance))
        session.execute(update(ProcessInstance).where(ProcessInstance.id == stalled_instance)
                        .values(next_timer_due=None, waiting_messages=None))
        reviewers = [u.id for u in session.query(User).join(RoleGrant).where(RoleGrant.role == "credit_reviewer")]
        session.execute(update(User).where(User.id.in_(reviewers)).values(active=False))
    report = engine.doctor()
    assert [(s.loan_ref, s.incident_id) for s in report.stuck] == [(stalled, None)]
    assert [(t.loan_ref, t.role) for t in report.unserved] == [(unserved, "credit_reviewer")]
    result = doctor(database_url)
    assert result.exit_code == 1
    assert f"Stuck: {stalled} origination" in result.output and "no incident explains it" in result.output
    assert f"on {unserved} (role credit_reviewer" in result.output and healthy not in result.output
