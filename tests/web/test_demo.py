"""`creditflow demo --no-serve`: database, processes, one user per role, a dozen loans at different stages."""
from __future__ import annotations

from click.testing import CliRunner

from engine.bootstrap import build_engine
from engine.db import sqlite_url
from webapp.cli import DEMO_PASSWORD, main


def test_demo_seeds_a_bank_with_work_in_every_inbox(tmp_path):
    url = sqlite_url(tmp_path / "demo.sqlite")
    result = CliRunner().invoke(main, ["--database", url, "demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output and "cm_wang" in result.output and "risk_liu" in result.output
    engine = build_engine(url)
    try:
        refs = [line.split()[0] for line in result.output.splitlines() if line.strip().startswith("L-")]
        assert len(refs) == 12
        loans = [engine.loan(ref) for ref in refs]
        stages = {loan.stage for loan in loans}
        assert {"investigation", "review", "approval", "contract", "disbursement"} <= stages
        assert any(loan.status == "rejected" for loan in loans)
        disbursed = [loan for loan in loans if loan.status == "disbursed"]
        assert disbursed and any(i.process_id == "post_loan" and i.status == "running"
                                 for i in disbursed[0].instances)
        for user in ("cm_wang", "rev_chen", "risk_liu"):
            mine, available = engine.inbox(user, "mine")[1], engine.inbox(user, "available")[1]
            assert mine + available > 0, user
        assert engine.sign_in("cm_wang", DEMO_PASSWORD) is not None
    finally:
        engine.db.dispose()
    again = CliRunner().invoke(main, ["--database", url, "demo", "--no-serve"])
    assert again.exit_code == 0 and "nothing was seeded" in again.output
