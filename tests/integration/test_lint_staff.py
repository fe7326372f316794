"""Lint reads today's staff: a task whose role nobody active holds any more is an error before it can stall a loan."""
from __future__ import annotations

import shutil
from datetime import timedelta

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
    assert engine.check_files(bundled_files()) == []  # a fresh installation is not judged on its staff
    seed_team(engine, None)
    assert engine.check_files(bundled_files()) == []
    with engine.db.transaction() as session:  # every credit reviewer leaves the bank
        session.execute(update(User).where(User.id.in_(
            select(RoleGrant.user_id).where(RoleGrant.role == "credit_reviewer"))).values(active=False))
    problems = engine.check_files(bundled_files())
    assert nobody(problems) == {"review", "extension_review"}
    assert all(p.file in ("origination.bpmn", "extension.bpmn") and p.line for p in problems)
    assert {p.file for p in problems} == {"origination.bpmn", "extension.bpmn"}  # both are reviewed


def test_validate_prints_lint_findings_and_fails_only_on_errors(database_url, tmp_path, clock):
    runner = CliRunner()
    assert runner.invoke(main, ["--database", database_url, "init-db"]).exit_code == 0
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    text = path.read_text()
    path.write_text(text.replace('name="duty" value="assist_investigation"', 'name="duty" value="investigate"'))
    validate = ["--database", database_url, "validate", str(redesign)]
    staffed = build_engine(database_url, clock=clock)
    seed_team(staffed, None)
    checked = runner.invoke(main, validate, catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert "pair-one-person" in checked.output and "assist_investigation" in checked.output
    assert "Valid, with 1 lint warning(s)." in checked.output
    with staffed.db.transaction() as session:  # every customer manager leaves the bank
        session.execute(update(User).where(User.id.in_(
            select(RoleGrant.user_id).where(RoleGrant.role == "customer_manager"))).values(active=False))
    staffed.db.dispose()
    stalled = runner.invoke(main, validate, catch_exceptions=False)
    assert stalled.exit_code == 1
    assert "loans would stall here" in stalled.output and "nobody-can-perform" in stalled.output


def test_a_task_in_a_lane_the_policy_never_lets_do_its_duty_is_reported_once(engine):
    seed_team(engine, None)
    files = bundled_files()
    files["origination.bpmn"] = files["origination.bpmn"].replace(
        '<spiffworkflow:property name="duty" value="review" />', '<spiffworkflow:property name="duty" value="approve" />')
    about_review = [p for p in engine.check_files(files) if p.element == "review"]
    assert len(about_review) == 1 and about_review[0].severity == "error"
    assert "credit_reviewer" in about_review[0].message


def test_a_grant_that_has_expired_holds_no_role(engine, clock):
    seed_team(engine, None)
    yesterday = (clock.now() - timedelta(days=2)).date()
    with engine.db.transaction() as session:
        session.execute(update(RoleGrant).where(RoleGrant.role == "collateral_custodian").values(valid_to=yesterday))
    assert nobody(engine.check_files(bundled_files())) == {"register_collateral", "revalue_collateral"}
