"""kill -9 in the middle of a simulation, then resume: every loan finishes and the audit chain holds."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from engine.cli import main
from engine.store.models import DutyRecord, Loan

CREDITFLOW = str(Path(sys.executable).with_name("creditflow"))


def test_a_killed_simulation_resumes_and_finishes_every_loan(database_url):
    CliRunner().invoke(main, ["--database", database_url, "init-db"])
    CliRunner().invoke(main, ["--database", database_url, "deploy"])
    run = subprocess.Popen([CREDITFLOW, "--database", database_url, "simulate", "--loans", "6",
                            "--inspections", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = create_engine(database_url)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # kill it in the middle of its third loan
            with db.connect() as conn:
                if conn.execute(select(func.count()).select_from(Loan)).scalar() >= 3 \
                        and conn.execute(select(func.count()).select_from(DutyRecord)).scalar() >= 15:
                    break
            time.sleep(0.05)
        assert run.poll() is None, "the simulation ended before it could be killed"
        run.kill()  # SIGKILL: no cleanup, whatever transaction was open is lost
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    with db.connect() as conn:
        left_open = conn.execute(select(func.count()).select_from(Loan).where(
            Loan.status.not_in(("rejected", "withdrawn", "closed")))).scalar()
    assert left_open >= 1
    resumed = CliRunner().invoke(main, ["--database", database_url, "simulate", "--resume", "--inspections", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert "could not finish" not in resumed.output
    with db.connect() as conn:
        statuses = set(conn.execute(select(Loan.status)).scalars())
    db.dispose()
    assert statuses <= {"rejected", "withdrawn", "closed"}, statuses
    verified = CliRunner().invoke(main, ["--database", database_url, "audit", "verify"])
    assert verified.exit_code == 0, verified.output
