"""Signed checkpoints: the worker exports them on a schedule, `audit verify-offline` proves an exported trail against
them without the database and refuses forged ones, and the recorded verifications catch what the chain cannot."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from engine.audit.signing import fingerprint, load_public_key
from engine.bootstrap import build_engine
from engine.cli import main
from engine.cli.audit import register
from engine.store.models import AuditCheckpoint, AuditEvent

from .test_audit_chain import _raw
from .test_operations import CREDITFLOW

register(main)
COLUMNS = [c.name for c in AuditEvent.__table__.columns if c.name != "id"]


def _cli(*args, **env):
    return CliRunner().invoke(main, list(args), env={k: str(v) for k, v in env.items()})


@pytest.fixture
def keys(tmp_path):
    result = _cli("audit", "keygen", "--out", str(tmp_path / "keys"))
    assert result.exit_code == 0, result.output
    return tmp_path / "keys" / "checkpoint-signing.pem", tmp_path / "keys" / "checkpoint-signing.pub.pem"


@pytest.fixture
def other_keys(tmp_path):
    assert _cli("audit", "keygen", "--out", str(tmp_path / "other")).exit_code == 0
    return tmp_path / "other" / "checkpoint-signing.pem", tmp_path / "other" / "checkpoint-signing.pub.pem"


@pytest.fixture
def trail(database_url, clock, keys, tmp_path):
    """An engine with a real chain of events that signs checkpoints every hour into tmp_path/worm."""
    eng = build_engine(database_url, clock=clock)
    eng.settings = eng.settings.merged(checkpoint_key=str(keys[0]), checkpoint_every="1h",
                                       checkpoint_dir=str(tmp_path / "worm"))
    for name in ("cm_wang", "rev_chen", "auditor_xie"):
        eng.add_user(name, None, source="cli")
        clock.advance(minutes=5)
    eng.grant_role("cm_wang", "customer_manager", "BJ01", source="cli")
    eng.grant_role("auditor_xie", "auditor", source="cli")
    eng.record_leave("rev_chen", date(2026, 12, 1), date(2026, 12, 7), source="cli")
    yield eng
    eng.db.dispose()


def _ids(eng) -> list[int]:
    with eng.db.reading() as session:
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def _export(eng, tmp_path):
    path = tmp_path / "trail.json"
    result = _cli("--database", eng.db.url, "audit", "export", "--all", "--format", "json", "--output", str(path))
    assert result.exit_code == 0, result.output
    return path


def _offline(tmp_path, events, public_key, checkpoints=None):
    checkpoints = checkpoints or tmp_path / "worm" / "checkpoints.jsonl"
    return _cli("audit", "verify-offline", "--checkpoints", str(checkpoints), "--public-key", str(public_key),
                "--events", str(events))


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites_it(keys, tmp_path):
    private, public = keys
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in private.read_bytes() and b"BEGIN PUBLIC KEY" in public.read_bytes()
    before = private.read_bytes()
    again = _cli("audit", "keygen", "--out", str(tmp_path / "keys"))
    assert again.exit_code == 1 and "never overwritten" in again.stderr
    assert private.read_bytes() == before


def test_the_worker_exports_signed_checkpoints_on_schedule(trail, keys, tmp_path, clock):
    first = trail.export_checkpoint_if_due()
    assert first is not None and first["event_id"] == _ids(trail)[-1] and first["events"] == len(_ids(trail))
    assert first["key_fingerprint"] == fingerprint(load_public_key(keys[1])) and first["signature"]
    assert trail.export_checkpoint_if_due() is None  # not due again within the hour
    trail.add_user("late_joiner", None, source="cli")
    clock.advance(hours=1)
    second = trail.export_checkpoint_if_due()
    lines = [json.loads(line) for line in (tmp_path / "worm" / "checkpoints.jsonl").read_text().splitlines()]
    assert lines == [first, second] and second["event_id"] > first["event_id"]
    with trail.db.reading() as session:
        rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
        assert [(r.event_id, r.signature, r.key_fingerprint) for r in rows] == [
            (p["event_id"], p["signature"], p["key_fingerprint"]) for p in lines]


def test_a_signed_checkpoint_is_verified_offline(trail, keys, tmp_path, clock):
    trail.export_checkpoint_if_due()
    trail.add_user("late_joiner", None, source="cli")  # events after the checkpoint are fine
    result = _offline(tmp_path, _export(trail, tmp_path), keys[1])
    assert result.exit_code == 0, result.output
    assert f"{len(_ids(trail))} event(s) checked" in result.stdout and "1 signed checkpoint(s)" in result.stdout


def test_an_edited_event_in_the_export_is_named_offline(trail, keys, tmp_path):
    trail.export_checkpoint_if_due()
    path = _export(trail, tmp_path)
    events = json.loads(path.read_text())
    events[3]["actor"] = "mallory"
    path.write_text(json.dumps(events))
    result = _offline(tmp_path, path, keys[1])
    assert result.exit_code == 1
    assert f"event {events[3]['id']}: its content does not match its hash" in result.stderr


def test_a_checkpoint_with_a_tampered_head_hash_is_refused(trail, keys, tmp_path):
    trail.export_checkpoint_if_due()
    file = tmp_path / "worm" / "checkpoints.jsonl"
    point = json.loads(file.read_text())
    point["head_hash"] = "f" * 64
    file.write_text(json.dumps(point) + "\n")
    result = _offline(tmp_path, _export(trail, tmp_path), keys[1])
    assert result.exit_code == 1
    assert f"at event {point['event_id']} refused: its signature does not match its content" in result.stderr


def test_a_checkpoint_signed_by_another_key_is_refused(trail, keys, other_keys, tmp_path):
    trail.settings = trail.settings.merged(checkpoint_key=str(other_keys[0]))
    trail.export_checkpoint_if_due()
    result = _offline(tmp_path, _export(trail, tmp_path), keys[1])
    assert result.exit_code == 1
    other = fingerprint(load_public_key(other_keys[1]))[:16]
    assert f"refused: it was signed by another key (fingerprint {other})" in result.stderr
    # and one made by someone holding the key's fingerprint but not the key
    file = tmp_path / "worm" / "checkpoints.jsonl"
    point = json.loads(file.read_text())
    point["key_fingerprint"] = fingerprint(load_public_key(keys[1]))
    file.write_text(json.dumps(point) + "\n")
    forged = _offline(tmp_path, _export(trail, tmp_path), keys[1])
    assert forged.exit_code == 1 and "its signature does not match its content" in forged.stderr


def test_a_truncated_tail_is_caught_against_the_latest_signed_checkpoint(trail, keys, tmp_path):
    ids = _ids(trail)
    trail.export_checkpoint_if_due()
    with _raw(trail) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": ids[-2]})
    result = _offline(tmp_path, _export(trail, tmp_path), keys[1])
    assert result.exit_code == 1
    assert f"event {ids[-1]}: it is missing" in result.stderr and "does not match the checkpoint signed at" in result.stderr
    # the database's own verification sees it too, against the signed checkpoint it holds
    found = trail.verify_audit_trail("auditor_xie", "full")
    assert not found.intact and (found.broken_event_id, found.broken_reason) == (ids[-1], "missing")


def test_a_rebuilt_chain_is_caught_offline(trail, keys, tmp_path):
    from tests.integration.test_audit_chain import _rebuild_from  # the same consistent rewrite
    ids = _ids(trail)
    trail.export_checkpoint_if_due()
    _rebuild_from(trail, ids[2], actor="mallory")
    result = _offline(tmp_path, _export(trail, tmp_path), keys[1])
    assert result.exit_code == 1 and f"event {ids[-1]}: its hash differs from the checkpoint" in result.stderr


def test_offline_verification_needs_a_checkpoint(trail, keys, tmp_path):
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    result = _offline(tmp_path, _export(trail, tmp_path), keys[1], checkpoints=empty)
    assert result.exit_code == 1 and "holds no checkpoint" in result.stderr


def test_verifications_are_recorded_audited_and_start_from_the_last_verified_checkpoint(trail, keys):
    ids = _ids(trail)
    first = trail.verify_audit_trail("auditor_xie", "incremental")
    assert first.intact and first.checked == len(ids) and first.start_event_id == 0
    with trail.db.reading() as session:
        point = session.get(AuditCheckpoint, first.checkpoint_id)
        assert point.event_id == ids[-1] and point.signature
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert (event.action, event.actor, event.outcome) == ("chain_verified", "auditor_xie", "done")
        assert event.detail["checkpoint"] == first.checkpoint_id
    trail.add_user("late_joiner", None, source="cli")
    second = trail.verify_audit_trail("auditor_xie", "incremental")
    # the checkpointed event again, the verification's own event, the new user
    assert second.intact and second.checked == 3 and second.start_event_id < ids[-1]
    assert trail.verify_audit_trail("auditor_xie", "full").checked == len(_ids(trail)) - 1


def test_an_edited_row_stays_reported_until_a_verification_passes(trail):
    ids = _ids(trail)
    assert trail.verify_audit_trail("auditor_xie").intact
    target = ids[-1]  # the checkpointed event itself: an incremental verification walks it again
    with _raw(trail) as conn:
        original = conn.execute(text("SELECT actor FROM audit_event WHERE id = :id"), {"id": target}).scalar()
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :id"), {"id": target})
    broken = trail.verify_audit_trail("auditor_xie")
    assert not broken.intact and (broken.broken_event_id, broken.broken_reason) == (target, "edited")
    assert broken.broken_action == "leave_recorded" and broken.broken_at is not None
    assert trail.chain_alarm() == broken
    again = trail.verify_audit_trail("auditor_xie")  # still from the last verified checkpoint
    assert not again.intact and again.broken_event_id == target
    with trail.db.reading() as session:
        failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "chain_verified",
                                                          AuditEvent.outcome == "failed")).all()
        assert [e.detail["broken_event"] for e in failed] == [target, target]
    with _raw(trail) as conn:
        conn.execute(text("UPDATE audit_event SET actor = :a WHERE id = :id"), {"a": original, "id": target})
    assert trail.verify_audit_trail("auditor_xie").intact and trail.chain_alarm() is None


def test_a_forged_checkpoint_in_the_database_is_caught_by_its_signature(trail):
    trail.export_checkpoint_if_due()
    with _raw(trail) as conn:  # someone rewrote the chain and "fixed" the checkpoint row to match
        conn.execute(text("UPDATE audit_checkpoint SET head_hash = :h"), {"h": "e" * 64})
    found = trail.verify_audit_trail("auditor_xie", "full")
    assert not found.intact and found.broken_reason == "altered"
    status = trail.integrity_status()
    assert status.signing and status.key_fingerprint and status.signed_checkpoint.signed


def test_a_malformed_schedule_is_a_configuration_error():
    from engine.settings import ConfigurationError, load_settings
    with pytest.raises(ConfigurationError, match="CHECKPOINT_EVERY"):
        load_settings({"CREDITFLOW_CHECKPOINT_EVERY": "often"})
    assert load_settings({"CREDITFLOW_CHECKPOINT_EVERY": "6h"}).checkpoint_every == "6h"


def _worker_env(trail, tmp_path, **settings):
    return {**os.environ, "CREDITFLOW_DATABASE_URL": trail.db.url, "CREDITFLOW_LOG_FORMAT": "json",
            "CREDITFLOW_LANG": "en", "CREDITFLOW_INSTANCE_PATH": str(tmp_path / "instance"),
            **{f"CREDITFLOW_{k.upper()}": str(v) for k, v in settings.items()}}


def test_a_real_worker_signs_and_exports_a_checkpoint_that_verifies_offline(trail, keys, tmp_path):
    worm = tmp_path / "worm-worker"
    worker = subprocess.Popen([CREDITFLOW, "worker", "--interval", "0.3"], text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              env=_worker_env(trail, tmp_path, checkpoint_key=keys[0], checkpoint_every="1d",
                                              checkpoint_dir=worm))
    try:
        deadline = time.monotonic() + 30
        while not (worm / "checkpoints.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # more ticks: not due again for a day
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert len((worm / "checkpoints.jsonl").read_text().splitlines()) == 1
    assert "Signed checkpoint 1" in out
    result = _offline(tmp_path, _export(trail, tmp_path), keys[1], checkpoints=worm / "checkpoints.jsonl")
    assert result.exit_code == 0, result.output


def test_the_worker_will_not_start_a_schedule_without_a_key(trail, tmp_path):
    done = subprocess.run([CREDITFLOW, "worker", "--interval", "0.3"], capture_output=True, text=True, timeout=60,
                          env=_worker_env(trail, tmp_path, checkpoint_every="6h"))
    assert done.returncode == 1 and "CREDITFLOW_CHECKPOINT_KEY is not" in done.stderr


def test_a_verification_run_from_cron_is_recorded_and_raises_the_alarm(trail, keys):
    events = len(_ids(trail))
    ok = _cli("--database", trail.db.url, "audit", "verify", "--record", "incremental",
              CREDITFLOW_CHECKPOINT_KEY=keys[0], CREDITFLOW_LANG="en")
    assert ok.exit_code == 0, ok.output
    assert f"{events} event(s) checked" in ok.stdout and trail.chain_alarm() is None
    target = _ids(trail)[2]
    with _raw(trail) as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :id"), {"id": target})
    broken = _cli("--database", trail.db.url, "audit", "verify", "--record", "full", CREDITFLOW_LANG="en")
    assert broken.exit_code == 1 and f"event {target}: its content does not match its hash" in broken.stderr
    alarm = trail.chain_alarm()
    assert alarm.broken_event_id == target and alarm.source == "cli" and alarm.actor is None


def _export_once(database_url: str, now, key: str, directory: str, barrier, results) -> None:
    """One worker process: its own engine, exporting a checkpoint if one is due, at the same moment as the other."""
    from engine.clock import ManualClock

    eng = build_engine(database_url, clock=ManualClock(now))
    eng.settings = eng.settings.merged(checkpoint_key=key, checkpoint_every="1h", checkpoint_dir=directory)
    barrier.wait()
    point = eng.export_checkpoint_if_due()
    eng.db.dispose()
    results.put(point is not None)


def test_two_workers_due_at_once_export_one_checkpoint(trail, keys, tmp_path, clock, database_url):
    import multiprocessing

    if not trail.db.is_postgres:
        pytest.skip("several workers are a PostgreSQL deployment; SQLite has one writer")
    context = multiprocessing.get_context("spawn")
    for _round in range(3):
        clock.advance(hours=1)
        barrier, results = context.Barrier(2), context.Queue()
        workers = [context.Process(target=_export_once, args=(database_url, clock.now(), str(keys[0]),
                                                              str(tmp_path / "worm"), barrier, results))
                   for _ in range(2)]
        for process in workers:
            process.start()
        exported = sorted(results.get(timeout=120) for _ in workers)
        for process in workers:
            process.join(timeout=30)
        assert exported == [False, True]  # one signed it; the other found it done
    with trail.db.reading() as session:
        assert len(session.scalars(select(AuditCheckpoint.id).where(AuditCheckpoint.signature.is_not(None))).all()) == 3
    lines = (tmp_path / "worm" / "checkpoints.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
