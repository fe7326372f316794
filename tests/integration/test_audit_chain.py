"""Tampering with the audit table is detected, naming the first broken event, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date

import pytest

from engine.errors import NotAllowed
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from engine.audit.chain import GENESIS, event_hash, verify_chain
from engine.audit.exports import verify_against_checkpoint, write_checkpoint
from engine.bootstrap import build_engine
from engine.cli import main
from engine.audit.exports import MESSAGES as CHECKPOINT_REASONS
from engine.cli.audit import MESSAGES as CHAIN_REASONS
from engine.cli.audit import register
from engine.store.models import AuditEvent

register(main)

COLUMNS = [c.name for c in AuditEvent.__table__.columns if c.name != "id"]


@pytest.fixture
def chained(database_url, clock):
    """An engine whose audit chain holds eleven real events (people, roles, sign-ins, leave)."""
    eng = build_engine(database_url, clock=clock)
    for name in ("cm_wang", "rev_chen", "auditor_xie"):
        eng.add_user(name, "correct horse" if name == "cm_wang" else None, source="cli")
        clock.advance(minutes=5)
    eng.grant_role("cm_wang", "customer_manager", "BJ01", source="cli")
    eng.grant_role("rev_chen", "credit_reviewer", "BJ01", source="cli")
    eng.grant_role("auditor_xie", "auditor", source="cli")
    clock.advance(hours=1)
    assert eng.sign_in("cm_wang", "correct horse") is not None
    assert eng.sign_in("cm_wang", "wrong password") is None
    eng.record_leave("rev_chen", date(2026, 12, 1), date(2026, 12, 7), source="cli")
    eng.delegate("rev_chen", "cm_wang", date(2026, 12, 1), date(2026, 12, 7), source="cli")
    eng.issue_token("auditor_xie", source="cli")
    yield eng
    eng.db.dispose()


def _ids(eng) -> list[int]:
    with eng.db.reading() as session:
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def _verify(eng):
    with eng.db.reading() as session:
        return verify_chain(session)


@contextmanager
def _raw(eng):
    """A connection outside the engine, as a tamperer with database access would have."""
    outside = create_engine(eng.db.url)
    try:
        with outside.begin() as conn:
            yield conn
    finally:
        outside.dispose()


def _row(conn, event_id: int) -> dict:
    table = AuditEvent.__table__
    return dict(conn.execute(select(*(table.c[name] for name in COLUMNS)).where(table.c.id == event_id))
                .mappings().one())


def _put(conn, event_id: int, values: dict) -> None:
    table = AuditEvent.__table__
    conn.execute(table.update().where(table.c.id == event_id).values(**values))


def _cli(eng, *args):
    return CliRunner().invoke(main, ["--database", eng.db.url, "audit", *args])


def test_an_untouched_chain_verifies(chained):
    ids = _ids(chained)
    assert len(ids) == 11
    assert _verify(chained) == (len(ids), None)
    with chained.db.reading() as session:
        first = session.get(AuditEvent, ids[0])
        assert first.prev_hash == GENESIS
    result = _cli(chained, "verify")
    assert result.exit_code == 0, result.output
    assert f"{len(ids)} event(s) checked" in result.output


@pytest.mark.parametrize("column, value", [
    ("actor", "mallory"),
    ("outcome", "done"),
    ("occurred_at", "2026-11-01 00:00:00.000000"),
    ("detail", '{"username": "mallory"}'),
    ("reason", "routine"),
])
def test_editing_a_field_is_detected_at_that_event(chained, column, value):
    """The target is the failed sign-in: e.g. made to look successful, or blamed on someone else."""
    target = _ids(chained)[7]
    with _raw(chained) as conn:
        cast = "CAST(:v AS JSON)" if column == "detail" and conn.dialect.name == "postgresql" else ":v"
        if column == "occurred_at" and conn.dialect.name == "postgresql":
            cast = "CAST(:v AS TIMESTAMPTZ)"
        conn.execute(text(f"UPDATE audit_event SET {column} = {cast} WHERE id = :id"), {"v": value, "id": target})
    checked, broken = _verify(chained)
    assert broken is not None and broken.event_id == target
    assert broken.reason == CHAIN_REASONS["edited"]  # the catalog has its translation
    assert checked == 7
    result = _cli(chained, "verify")
    assert result.exit_code == 1
    assert f"event {target}: its content does not match its hash" in result.stderr


def test_deleting_a_row_is_detected_at_the_event_after_it(chained):
    ids = _ids(chained)
    with _raw(chained) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[4]})
    _checked, broken = _verify(chained)
    assert broken is not None and broken.event_id == ids[5]
    assert broken.reason == CHAIN_REASONS["unlinked"]
    result = _cli(chained, "verify")
    assert result.exit_code == 1 and f"event {ids[5]}:" in result.stderr


def test_deleting_the_first_row_is_detected(chained):
    ids = _ids(chained)
    with _raw(chained) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[0]})
    assert _verify(chained)[1].event_id == ids[1]


def _forged(prev_hash: str, template: dict, **changes) -> dict:
    """A row built like the engine builds one, with a correctly computed hash over its content."""
    values = {**template, **changes, "prev_hash": prev_hash}
    values["hash"] = event_hash(prev_hash, AuditEvent(**{k: v for k, v in values.items() if k != "hash"}))
    return values


def test_inserting_a_forged_row_with_a_valid_looking_hash_is_detected(chained):
    """The forger makes room after event k and inserts an event that chains correctly onto k."""
    ids = _ids(chained)
    k = ids[5]
    with _raw(chained) as conn:
        template = _row(conn, k)
        conn.execute(text("UPDATE audit_event SET id = id + 1000000 WHERE id > :k"), {"k": k})
        conn.execute(text("UPDATE audit_event SET id = id - 999999 WHERE id > 1000000"))
        forged = _forged(template["hash"], template, action="role_granted", actor="admin",
                         detail={"username": "cm_wang", "role": "risk_manager"})
        conn.execute(AuditEvent.__table__.insert().values(id=k + 1, **forged))
    _checked, broken = _verify(chained)
    # the forged row itself is consistent; the event that used to follow k no longer chains onto it
    assert broken is not None and broken.event_id == k + 2
    assert "inserted" in broken.reason


def test_appending_a_row_with_a_made_up_hash_is_detected(chained):
    ids = _ids(chained)
    with _raw(chained) as conn:
        head = _row(conn, ids[-1])
        forged = {**head, "actor": "mallory", "prev_hash": head["hash"], "hash": head["hash"][::-1]}
        conn.execute(AuditEvent.__table__.insert().values(id=ids[-1] + 1, **forged))
    assert _verify(chained)[1].event_id == ids[-1] + 1


def test_appending_a_row_that_skips_back_in_the_chain_is_detected(chained):
    """A forged event chained onto an old event (to slip it into the past) does not follow the head."""
    ids = _ids(chained)
    with _raw(chained) as conn:
        old = _row(conn, ids[2])
        forged = _forged(old["hash"], old, action="task_completed", actor="cm_wang")
        conn.execute(AuditEvent.__table__.insert().values(id=ids[-1] + 1, **forged))
    assert _verify(chained)[1].event_id == ids[-1] + 1


def test_swapping_two_rows_is_detected_at_the_first_of_them(chained):
    ids = _ids(chained)
    a, b = ids[3], ids[8]
    with _raw(chained) as conn:
        row_a, row_b = _row(conn, a), _row(conn, b)
        _put(conn, a, row_b)
        _put(conn, b, row_a)
    _checked, broken = _verify(chained)
    assert broken is not None and broken.event_id == a
    result = _cli(chained, "verify")
    assert result.exit_code == 1 and f"event {a}:" in result.stderr


def test_swapping_neighbours_is_detected(chained):
    ids = _ids(chained)
    a, b = ids[7], ids[8]
    with _raw(chained) as conn:
        row_a, row_b = _row(conn, a), _row(conn, b)
        _put(conn, a, row_b)
        _put(conn, b, row_a)
    assert _verify(chained)[1].event_id == a


def _rebuild_from(eng, event_id: int, **changes) -> None:
    """Edit an event and recompute every hash after it: the chain verifies again; only a checkpoint tells."""
    with _raw(eng) as conn:
        table = AuditEvent.__table__
        rows = conn.execute(select(table).where(table.c.id >= event_id).order_by(table.c.id)).mappings().all()
        prev = rows[0]["prev_hash"]
        for row in rows:
            values = {k: row[k] for k in COLUMNS}
            if row["id"] == event_id:
                values.update(changes)
            values = _forged(prev, values)
            _put(conn, row["id"], values)
            prev = values["hash"]


def test_a_rebuilt_chain_is_caught_by_an_exported_checkpoint(chained, tmp_path):
    ids = _ids(chained)
    file = tmp_path / "checkpoints.json"
    result = _cli(chained, "checkpoint", "--output", str(file))
    assert result.exit_code == 0, result.output
    point = json.loads(result.stdout)
    assert point["event_id"] == ids[-1] and len(point["head_hash"]) == 64
    assert json.loads(file.read_text()) == [point]
    assert _cli(chained, "verify", "--checkpoint", str(file)).exit_code == 0

    _rebuild_from(chained, ids[4], actor="mallory")
    assert _verify(chained)[1] is None  # the chain alone cannot see a full rebuild
    result = _cli(chained, "verify", "--checkpoint", str(file))
    assert result.exit_code == 1
    assert f"event {ids[-1]}: its hash differs from the checkpoint" in result.stderr


def test_deleting_the_newest_events_is_caught_by_a_checkpoint(chained):
    ids = _ids(chained)
    with chained.db.transaction() as session:
        point = write_checkpoint(session, chained.clock)
    with _raw(chained) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": ids[-2]})
    with chained.db.reading() as session:
        assert verify_chain(session)[1] is None
        check = verify_against_checkpoint(session, point)
    assert not check.ok and check.event_id == ids[-1] and check.reason == CHECKPOINT_REASONS["missing"]


def test_checkpoints_accumulate_and_new_events_after_them_are_fine(chained, tmp_path):
    file = tmp_path / "checkpoints.json"
    assert _cli(chained, "checkpoint", "--output", str(file)).exit_code == 0
    chained.add_user("late_joiner", None, source="cli")
    assert _cli(chained, "checkpoint", "--output", str(file)).exit_code == 0
    points = json.loads(file.read_text())
    assert len(points) == 2 and points[1]["event_id"] > points[0]["event_id"]
    result = _cli(chained, "verify", "--checkpoint", str(file))
    assert result.exit_code == 0, result.output
    assert "2 checkpoint(s)" in result.output


def test_a_refusal_written_after_a_rollback_keeps_the_chain_intact(chained):
    """Refusals are chained in their own transaction; the refused command's events vanish with it."""
    with pytest.raises(Exception):
        with chained.command("cli") as ctx:
            ctx.audit.record("user_added", detail={"username": "ghost"})
            error = NotAllowed("refused")
            error.audit_fields = {"actor": "cm_wang", "rule": "SOD-01", "reason": "no"}
            raise error
    with chained.db.reading() as session:
        last = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert (last.action, last.outcome, last.rule) == ("refused", "denied", "SOD-01")
        assert not session.scalar(select(AuditEvent.id).where(AuditEvent.detail["username"].as_string() == "ghost"))
    assert _verify(chained)[1] is None


def test_an_incremental_verify_walks_only_what_came_after_the_last_checkpoint(chained):
    ids = _ids(chained)
    first = _cli(chained, "verify", "--incremental")
    assert first.exit_code == 0, first.output
    assert f"{len(ids)} event(s) checked" in first.output and f"recorded at event {ids[-1]}" in first.output
    chained.add_user("late_joiner", None, source="cli")
    chained.add_user("later_joiner", None, source="cli")
    second = _cli(chained, "verify", "--incremental")
    assert second.exit_code == 0, second.output
    # the checkpoint's own event is walked again (its content against its hash), then the two new ones
    assert f"Starting after checkpoint 1 (event {ids[-1]})" in second.output and "3 event(s) checked" in second.output
    chained.add_user("latest_joiner", None, source="cli")
    newest = _ids(chained)[-1]
    with _raw(chained) as conn:  # an edit after the last checkpoint is caught
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :id"), {"id": newest})
    third = _cli(chained, "verify", "--incremental")
    assert third.exit_code == 1 and f"event {newest}: its content does not match its hash" in third.stderr


def test_an_incremental_verify_checks_the_checkpointed_event_itself(chained):
    ids = _ids(chained)
    assert _cli(chained, "verify", "--incremental").exit_code == 0
    with _raw(chained) as conn:  # the hash column untouched: only recomputing the hash shows the edit
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :id"), {"id": ids[-1]})
    edited = _cli(chained, "verify", "--incremental")
    assert edited.exit_code == 1 and f"event {ids[-1]}: its content does not match its hash" in edited.stderr


def test_an_incremental_verify_refuses_a_chain_rewritten_under_its_checkpoint(chained):
    ids = _ids(chained)
    assert _cli(chained, "verify", "--incremental").exit_code == 0
    _rebuild_from(chained, ids[4], actor="mallory")
    result = _cli(chained, "verify", "--incremental")
    assert result.exit_code == 1
    assert f"event {ids[-1]}: its hash differs from the checkpoint" in result.stderr
    assert _cli(chained, "verify").exit_code == 0  # a full walk cannot see a consistent rebuild: the checkpoint does
