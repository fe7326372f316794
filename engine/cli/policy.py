"""`creditflow policy ...`: check the policy set against the deployed BPMN, and explain a user's options on a loan."""
from __future__ import annotations

import sys

import click

from engine.cli.common import engine_from, run
from engine.i18n import _, cli_locale, translate_error


@click.group(help=_("Segregation-of-duties policy: check and explain."))
def policy():
    pass


@policy.command("validate", help=_("Check a policy YAML file (format, duties, rules) without using it."))
@click.argument("path")
def validate(path):
    from policies import PolicyFormatError, load_policy
    try:
        loaded = load_policy(path)
    except (PolicyFormatError, OSError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(_("Policy %(version)s is valid: %(rules)s rules.", version=loaded.version, rules=len(loaded.rules)))


@policy.command("check", help=_("Every duty used in the deployed BPMN is known to the policy; every rule names real duties and roles."))
@click.pass_context
def check(ctx):
    engine = engine_from(ctx)
    problems = engine.policy_problems()
    if problems:
        click.echo(_("Policy %(version)s does not fit the deployed processes:", version=engine.policy.version), err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(_("Policy %(version)s fits the deployed processes (%(duties)s duties in use).",
                 version=engine.policy.version, duties=len(engine.duties_in_use())))


@policy.command("explain", help=_("Which tasks USER may do on LOAN now and, for each refused one, which rule refuses it."))
@click.option("--loan", "loan_ref", required=True, help=_("Loan reference, e.g. L-2026-000001."))
@click.option("--user", "username", required=True, help=_("User name."))
@click.pass_context
def explain(ctx, loan_ref, username):
    engine = engine_from(ctx)
    rows = run(lambda: engine.explain(loan_ref, username))
    names = engine.step_texts(cli_locale())  # task names in the command line's language
    click.echo(_("Loan %(loan)s, user %(user)s, policy %(version)s:", loan=loan_ref, user=username,
                 version=engine.policy.version))
    for row in rows:
        state = _("open now") if row.open else _("not reached")
        task = names.step(row.process_id, row.bpmn_id, row.task)
        if row.decision.allowed:
            click.echo("  " + _("MAY    %(task)s [%(duty)s] (%(state)s)", task=task, duty=row.duty, state=state))
        else:
            click.echo("  " + _("REFUSED %(task)s [%(duty)s] (%(state)s): %(rule)s: %(reason)s", task=task,
                                duty=row.duty, state=state, rule=row.decision.rule or "-",
                                reason=translate_error(row.decision)))


def register(main: click.Group) -> None:
    main.add_command(policy)
