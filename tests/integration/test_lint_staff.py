"""Lint reads today's staff: a task whose role nobody active holds any more is an error before it can stall a loan."""
from __future__ import annotations

import shutil

from click.testing import CliRunner
from sqlalchemy import select, update

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.cli import main
from engine.runtime.specs import collect_files
from engine.simulation.staff import seed_team
from engine.store.models import RoleGrant, User


def bundled_files() -> dict[str, str]:
    return {f.name: f.data.decode("utf-8") for f in collect_files([BUNDLED_BPMN])}


def nobody(problems) -> set[str]:
    return {p.element for p in problems if p.rule == "nobody-can-perform" and p.severity == "error"}


def test_removing_the_last_holder_of_a_role_makes_its_task_an_error(engine):
    assert "review" in nobody(engine.check_files(bundled_files()))  # an empty bank: nobody can do anything
    seed_team(engine, None)
    assert engine.check_files(bundled_files()) == []
    with engine.db.transaction() as session:  # every credit reviewer leaves the bank
        session.execute(update(User).where(User.id.in_(
            select(RoleGrant.user_id).where(RoleGrant.role == "credit_reviewer"))).values(active=False))
    problems = engine.check_files(bundled_files())
    assert nobody(problems) == {"review"}
    assert all(p.file == "origination.bpmn" and p.line for p in problems)


def test_validate_prints_lint_findings_and_fails_only_on_errors(database_url, tmp_path, clock):
    runner = CliRunner()
    assert runner.invoke(main, ["--database", database_url, "init-db"]).exit_code == 0
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    text = path.read_text()
    path.write_text(text.replace('name="duty" value="assist_investigation"', 'name="duty" value="investigate"'))
    validate = ["--database", database_url, "validate", str(redesign)]
    empty_bank = runner.invoke(main, validate, catch_exceptions=False)
    assert empty_bank.exit_code == 1  # no users yet: nobody could do any task
    assert "nobody-can-perform" in empty_bank.output and "pair-one-person" in empty_bank.output
    staffed = build_engine(database_url, clock=clock)
    seed_team(staffed, None)
    staffed.db.dispose()
    checked = runner.invoke(main, validate, catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert "nobody-can-perform" not in checked.output
    assert "pair-one-person" in checked.output and "assist_investigation" in checked.output
