"""Run as a bank runs it: one configuration for every process, a worker that outlives bad instances and outages."""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.cli import main
from engine.clock import ManualClock
from engine.settings import ConfigurationError, load_settings
from policies import DEFAULT_POLICY
from webapp import create_app

from .conftest import Driver
from .test_incidents import disbursed, poisoned_bundle

CREDITFLOW = str(Path(sys.executable).with_name("creditflow"))


@pytest.fixture
def custom_policy(tmp_path):
    path = tmp_path / "bank-policy.yaml"
    path.write_text(Path(DEFAULT_POLICY).read_text(encoding="utf-8").replace('version: "2026.3"',
                                                                             'version: "2026.7-bank"'))
    return path


def test_the_web_app_and_the_cli_enforce_the_policy_named_by_one_variable(database_url, custom_policy, monkeypatch):
    monkeypatch.setenv("CREDITFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("CREDITFLOW_POLICY_PATH", str(custom_policy))
    app = create_app()
    assert app.extensions["creditflow"].policy.version == "2026.7-bank"
    app.extensions["creditflow"].db.dispose()
    assert CliRunner().invoke(main, ["deploy"]).exit_code == 0
    checked = CliRunner().invoke(main, ["policy", "check"])
    assert checked.exit_code == 0 and "2026.7-bank" in checked.output


def test_a_bad_policy_file_is_one_line_naming_the_file_and_the_key(database_url, tmp_path, monkeypatch):
    bad = tmp_path / "broken.yaml"
    bad.write_text(Path(DEFAULT_POLICY).read_text(encoding="utf-8").replace('version: "2026.3"', "version: [1"))
    monkeypatch.setenv("CREDITFLOW_POLICY_PATH", str(bad))
    result = CliRunner().invoke(main, ["--database", database_url, "tick"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(bad) in result.output and "version" in result.output and len(result.output.strip().splitlines()) == 1
    with pytest.raises(ConfigurationError, match="broken.yaml"):
        create_app()


def test_settings_are_typed_and_unknown_variables_warn(caplog, tmp_path):
    with caplog.at_level(logging.WARNING, logger="creditflow.settings"):
        settings = load_settings({"CREDITFLOW_WORKER_INTERVAL": "2.5", "CREDITFLOW_TLS": "yes",
                                  "CREDITFLOW_POLICY": "/etc/bank.yaml"})
    assert settings.worker_interval == 2.5 and settings.tls is True and settings.policy_path is None
    assert "CREDITFLOW_POLICY is ignored (did you mean CREDITFLOW_POLICY_PATH?)" in caplog.text
    with pytest.raises(ConfigurationError, match="CREDITFLOW_INCIDENT_MAX_ATTEMPTS: 'many' is not a valid int"):
        load_settings({"CREDITFLOW_INCIDENT_MAX_ATTEMPTS": "many"})
    config = tmp_path / "creditflow.toml"
    config.write_text('worker_interval = 7\nlog_format = "json"\n')
    from_file = load_settings({"CREDITFLOW_CONFIG": str(config), "CREDITFLOW_LOG_FORMAT": "text"})
    assert (from_file.worker_interval, from_file.log_format) == (7.0, "text")  # the environment wins
    config.write_text("wroker_interval = 7\n")
    with pytest.raises(ConfigurationError, match="wroker_interval: unknown setting"):
        load_settings({"CREDITFLOW_CONFIG": str(config)})


def _wait_for(condition, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_the_worker_fires_the_others_and_keeps_running_past_a_poisoned_instance(database_url, tmp_path):
    """Three loans due now by the real clock, one on a broken redesign: a real worker process fires two, records an
    incident for the third, and is still alive; SIGTERM stops it cleanly."""
    clock = ManualClock(datetime.now(timezone.utc) - timedelta(days=20))
    engine = build_engine(database_url, clock=clock)
    engine.deploy([poisoned_bundle(tmp_path)], actor="designer_zheng", approved_by="designer_wu", source="cli")
    driver = Driver(engine, clock)
    poisoned = driver.start()
    disbursed(driver, poisoned)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    healthy = [driver.start() for _ in range(2)]
    for ref in healthy:
        disbursed(driver, ref)
    env = {**os.environ, "CREDITFLOW_DATABASE_URL": database_url, "CREDITFLOW_LOG_FORMAT": "json",
           "CREDITFLOW_INSTANCE_PATH": str(tmp_path / "instance")}
    worker = subprocess.Popen([CREDITFLOW, "worker", "--interval", "0.5"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: all(driver.open_steps(ref) == ["assist_inspection", "lead_inspection"]
                                     for ref in healthy) and engine.incidents())
        time.sleep(1.5)  # several more ticks with the incident waiting
        assert worker.poll() is None
        [incident] = engine.incidents()
        assert incident.loan_ref == poisoned and incident.kind == "timer" and driver.open_steps(poisoned) == []
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
        engine.db.dispose()
    assert worker.returncode == 0, err
    assert '"incident": 1' in err and '"command": "fire_timers"' in err  # structured log lines


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_worker_waits_for_the_database_then_gives_up_with_a_clear_status(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/creditflow"
    env = {**os.environ, "CREDITFLOW_DATABASE_URL": url, "CREDITFLOW_WORKER_DB_OUTAGE_SECONDS": "2",
           "CREDITFLOW_LOG_FORMAT": "json", "CREDITFLOW_LANG": "en"}
    started = time.monotonic()
    done = subprocess.run([CREDITFLOW, "worker", "--interval", "0.2"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3 and time.monotonic() - started >= 2
    assert "database unreachable, retrying" in done.stderr
    assert "The database has been unreachable for" in done.stderr and "Traceback" not in done.stderr
