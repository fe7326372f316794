"""Rows written at once (engine/store/writes.py): each one statement, the object left as a flush would leave it."""
import pytest
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine.store.models import DutyRecord, Loan, Notification, ProcessInstance, WorkItem
from engine.store.writes import add_now, delete_now, insert_row, save_now


def _writes(seen):
    return [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


def test_save_now_writes_pending_and_given_columns_in_one_update_and_leaves_nothing_to_flush(
        engine, driver, clock, statements):
    ref = driver.start()
    with engine.db.transaction() as session:
        loan = session.scalar(select(Loan).where(Loan.reference == ref))
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.loan_id == loan.id))
        version = instance.version
        loan.stage = "review"  # pending, as a step leaves it
        statements.clear()
        save_now(session, loan, updated_at=clock.now())
        save_now(session, instance, waiting_messages="ping")
        assert [s.split()[:2] for s in _writes(statements)] == [["UPDATE", "loan"], ["UPDATE", "process_instance"]]
        assert "stage" in _writes(statements)[0] and "updated_at" in _writes(statements)[0]
        assert instance.version == version + 1
        assert not session.dirty  # the commit's flush has nothing to write
        statements.clear()
    assert _writes(statements) == []
    with engine.db.reading() as session:
        assert session.scalar(select(Loan.stage).where(Loan.reference == ref)) == "review"
        row = session.get(ProcessInstance, instance.id)
        assert (row.waiting_messages, row.version) == ("ping", version + 1)


def test_save_now_of_a_value_set_back_writes_nothing(engine, driver, statements):
    ref = driver.start()
    with engine.db.transaction() as session:
        loan = session.scalar(select(Loan).where(Loan.reference == ref))
        loan.stage = loan.stage  # set, but the same
        statements.clear()
        save_now(session, loan)
        assert _writes(statements) == [] and not session.dirty


def test_save_now_on_a_version_someone_else_moved_is_stale_and_writes_nothing(engine, driver):
    ref = driver.start()
    with pytest.raises(StaleDataError):  # what the command's unit reports as ConcurrentChange
        with engine.db.transaction() as session:
            instance = session.scalar(select(ProcessInstance).join(Loan).where(Loan.reference == ref))
            set_committed_value(instance, "version", instance.version - 1)  # read before someone else's commit
            save_now(session, instance, waiting_messages="late")
    with engine.db.reading() as session:
        assert session.scalar(select(ProcessInstance.waiting_messages).join(Loan).where(Loan.reference == ref)) != "late"


def test_add_now_inserts_with_the_defaults_on_the_object_as_in_the_row(engine, driver, clock, statements):
    ref = driver.start()
    with engine.db.transaction() as session:
        statements.clear()
        note = add_now(session, Notification(username="cm_wang", kind="task_assigned", loan_ref=ref,
                                             created_at=clock.now()))
        assert [s.split()[:3] for s in _writes(statements)] == [["INSERT", "INTO", "notification"]]
        assert note.id is not None and note.params == {} and note.read_at is None  # the defaults, on the object
        assert not session.new and not session.dirty
    with engine.db.reading() as session:
        row = session.get(Notification, note.id)
        assert (row.params, row.read_at) == ({}, None)


def test_delete_now_removes_the_row_and_the_object_from_the_session(engine, driver, statements):
    ref = driver.start()
    with engine.db.transaction() as session:
        item = session.scalar(select(WorkItem).join(Loan, Loan.id == WorkItem.loan_id).where(Loan.reference == ref))
        loan = session.get(Loan, item.loan_id)
        statements.clear()
        delete_now(session, item)
        assert [s.split()[:3] for s in _writes(statements)] == [["DELETE", "FROM", "work_item"]]
        assert item not in session and loan in session
    with engine.db.reading() as session:
        assert session.get(WorkItem, item.id) is None


def test_insert_row_writes_one_row_and_keeps_no_object(engine, driver, clock, statements):
    ref = driver.start()
    with engine.db.transaction() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.reference == ref))
        statements.clear()
        first = insert_row(session, DutyRecord, loan_id=loan_id, username="x", duty="review", process_id="p",
                           subject="s", performed_at=clock.now())
        second = insert_row(session, DutyRecord, loan_id=loan_id, username="y", duty="review", process_id="p",
                            subject="s", performed_at=clock.now())
        assert [s.split()[:3] for s in _writes(statements)] == [["INSERT", "INTO", "duty_record"]] * 2
        assert second > first and not session.new and not list(session)
    with engine.db.reading() as session:
        assert session.get(DutyRecord, first).username == "x"


def test_add_now_leaves_the_object_out_of_the_session(engine, driver, clock, statements):
    ref = driver.start()
    with engine.db.transaction() as session:
        item = session.scalar(select(WorkItem).join(Loan, Loan.id == WorkItem.loan_id).where(Loan.reference == ref))
        copy = WorkItem(**{c.key: getattr(item, c.key) for c in WorkItem.__table__.columns if c.key != "id"})
        copy.task_id = "another-task"
        statements.clear()
        add_now(session, copy)
        assert [s.split()[:3] for s in _writes(statements)] == [["INSERT", "INTO", "work_item"]]
        assert copy.id > item.id and copy not in session
        copy.claimed_by = "someone"  # not saved: the object is only a record of what was written
    with engine.db.reading() as session:
        row = session.get(WorkItem, copy.id)
        assert (row.task_id, row.claimed_by) == ("another-task", None)


def test_save_now_refuses_an_object_in_no_session(engine, driver):
    ref = driver.start()
    with engine.db.reading() as session:
        loan = session.scalar(select(Loan).where(Loan.reference == ref))
    with engine.db.transaction() as session:
        with pytest.raises(ValueError, match="not in a session"):
            save_now(session, loan, stage="review")  # detached: a write through it would be lost
