"""The creditflow command as a risk manager or operator uses it."""
import shutil

from click.testing import CliRunner

from engine.bootstrap import BUNDLED_BPMN
from engine.cli import main


def run(url, *args):
    return CliRunner().invoke(main, ["--database", url, *args], catch_exceptions=False)


def test_operator_sets_up_runs_loans_and_fires_timers(database_url, tmp_path):
    assert run(database_url, "init-db").exit_code == 0
    deployed = run(database_url, "deploy")
    assert deployed.exit_code == 0 and "origination: deployed as version 1" in deployed.output
    assert "unchanged (version 1)" in run(database_url, "deploy", str(BUNDLED_BPMN)).output
    assert run(database_url, "users", "add", "cm_new", "--password", "long-enough-1").exit_code == 0
    granted = run(database_url, "users", "grant", "cm_new", "risk_manager", "--branch", "BJ01", "--limit", "3,000,000")
    assert granted.exit_code == 0 and "Granted risk_manager to cm_new" in granted.output
    bad = run(database_url, "users", "grant", "cm_new", "teller")
    assert bad.exit_code == 1 and "'teller' is not a role" in bad.output
    simulated = run(database_url, "simulate", "--loans", "3", "--inspections", "1")
    assert simulated.exit_code == 0, simulated.output
    assert "Simulated 3 loans" in simulated.output and "could not finish" not in simulated.output
    assert "0 process instance(s) moved on" in run(database_url, "tick", "--now", "2020-01-01T00:00:00+08:00").output
    bad_time = run(database_url, "tick", "--now", "next tuesday")
    assert bad_time.exit_code == 1 and "is not an ISO-8601 time" in bad_time.output


def test_validate_explains_what_is_wrong_and_deploy_refuses_it(database_url, tmp_path):
    run(database_url, "init-db")
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    path.write_text(path.read_text().replace('amount &gt; dual_investigation_threshold',
                                             'amount.__class__ &gt; dual_investigation_threshold'))
    checked = run(database_url, "validate", str(redesign))
    assert checked.exit_code == 1
    assert "origination.bpmn, line" in checked.output and "access to '__class__' is not allowed" in checked.output
    refused = run(database_url, "deploy", str(redesign))
    assert refused.exit_code == 1 and "nothing was deployed" in refused.output
    assert run(database_url, "validate", str(BUNDLED_BPMN)).output.strip() == "Valid: no problems found."


def test_a_command_on_an_empty_database_says_what_to_do(tmp_path):
    from engine.store.db import sqlite_url
    result = run(sqlite_url(tmp_path / "empty.sqlite"), "users", "token", "cm_wang")
    assert result.exit_code == 1
    assert "has no tables yet; run `creditflow init-db`" in result.output


def test_granting_a_second_role_warns_of_the_pairs_it_puts_at_risk(database_url):
    run(database_url, "init-db")
    run(database_url, "users", "add", "cm_both", "--password", "long-enough-1")
    assert "Warning" not in run(database_url, "users", "grant", "cm_both", "customer_manager", "--branch",
                                "BJ01").output
    both = CliRunner().invoke(main, ["--database", database_url, "users", "grant", "cm_both",
                                                     "credit_reviewer", "--branch", "BJ01"],
                                              env={"CREDITFLOW_LANG": "en"})
    assert both.exit_code == 0 and "SOD-01" in both.stderr and "on the same loan" in both.stderr
    assert "Granted credit_reviewer to cm_both" in both.stdout


def test_passwords_are_long_and_not_common(database_url):
    run(database_url, "init-db")
    short = run(database_url, "users", "add", "cm_short", "--password", "short-pass1")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    common = run(database_url, "users", "add", "cm_common", "--password", "password1234")
    assert common.exit_code == 1 and "too easy to guess" in common.output
    named = run(database_url, "users", "add", "cm_named", "--password", "cm_named-2026!")
    assert named.exit_code == 1 and "too easy to guess" in named.output
    assert run(database_url, "users", "add", "cm_good", "--password", "Harbour-lamp-93").exit_code == 0


def test_api_tokens_expire_are_listed_and_revoked(database_url):
    from engine.bootstrap import build_engine
    from engine.clock import ManualClock
    run(database_url, "init-db")
    run(database_url, "users", "add", "cm_api", "--password", "Harbour-lamp-93")
    clock = ManualClock()
    engine = build_engine(database_url, clock=clock)
    first, second = engine.issue_token("cm_api"), engine.issue_token("cm_api")
    assert engine.user_for_token(first).username == "cm_api"
    listed = run(database_url, "users", "tokens", "cm_api")
    assert listed.exit_code == 0 and listed.output.count("valid") == 2 and first not in listed.output
    token_id = engine.tokens("cm_api")[0][0]
    assert "revoked" in run(database_url, "users", "revoke-token", str(token_id)).output
    assert engine.user_for_token(first) is None and engine.user_for_token(second) is not None
    clock.advance(days=engine.settings.token_valid_days, seconds=1)
    assert engine.user_for_token(second) is None  # expired
    engine.db.dispose()


def test_send_message_says_how_many_instances_took_it_and_is_not_sent_twice(database_url):
    from engine.bootstrap import build_engine
    from engine.simulation.staff import seed_team
    run(database_url, "init-db")
    run(database_url, "deploy")
    engine = build_engine(database_url)
    seed_team(engine, None)
    ref = engine.start_loan("cm_wang", {"borrower": "Hengda Co.", "product": "working_capital", "amount": 1_000_000,
                                        "term_months": 12}, source="cli")
    engine.db.dispose()
    kept = run(database_url, "send-message", ref, "loan_repaid", "--by", "acct_ma")
    assert kept.exit_code == 0, kept.output
    assert "No process waits for loan_repaid yet; it is kept" in kept.output


def test_explain_names_the_tasks_in_the_command_lines_language(database_url, clock):
    from engine.bootstrap import build_engine
    from engine.simulation.staff import seed_team

    assert run(database_url, "init-db").exit_code == 0
    engine = build_engine(database_url, clock=clock)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    seed_team(engine, None)
    ref = engine.start_loan("cm_wang", {"borrower": "恒达精密机械有限公司", "product": "working_capital",
                                        "amount": 1_500_000, "term_months": 12}, source="cli")
    engine.db.dispose()
    args = ["--database", database_url, "policy", "explain", "--loan", ref, "--user", "cm_wang"]
    english = CliRunner(env={"CREDITFLOW_LANG": "en"}).invoke(main, args, catch_exceptions=False).output
    chinese = CliRunner(env={"CREDITFLOW_LANG": "zh_CN"}).invoke(main, args, catch_exceptions=False).output
    assert "MAY    Investigate borrower" in english and "调查借款人" not in english
    assert "调查借款人" in chinese and "Investigate borrower" not in chinese
