"""The `creditflow` command: database, deployments, users, timers and simulation."""
from __future__ import annotations

import sys
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation

import click
from sqlalchemy import inspect

from .bootstrap import BUNDLED_BPMN, build_engine, database_url
from .clock import ManualClock, utc
from .errors import EngineError
from .i18n import _, translate_error
from .validation import DeploymentRejected


def _engine(ctx: click.Context, clock=None, need_schema: bool = True):
    engine = build_engine(ctx.obj.get("database"), clock=clock, policy_path=ctx.obj.get("policy"))
    ctx.call_on_close(engine.db.dispose)
    if need_schema and not inspect(engine.db.engine).has_table("alembic_version"):
        _fail(_("The database %(url)s has no tables yet; run `creditflow init-db` (or `creditflow demo`) first.",
                url=engine.db.engine.url.render_as_string(hide_password=True)))
    return engine


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, help=_("creditflow: credit lifecycle workflow engine."))
@click.option("--database", envvar="CREDITFLOW_DATABASE_URL", help=_("SQLAlchemy URL (default: instance/creditflow.sqlite)."))
@click.option("--policy", envvar="CREDITFLOW_POLICY", help=_("Policy YAML file (default: the bundled policy)."))
@click.pass_context
def main(ctx, database, policy):
    ctx.ensure_object(dict)
    ctx.obj["database"] = database
    ctx.obj["policy"] = policy


@main.command("init-db", help=_("Create or upgrade the database schema."))
@click.pass_context
def init_db(ctx):
    from .schema import upgrade
    engine = _engine(ctx, need_schema=False)
    upgrade(engine.db)
    click.echo(_("Database ready: %(url)s", url=engine.db.engine.url.render_as_string(hide_password=True)))


@main.command(help=_("Check BPMN/DMN files (or folders) without deploying them."))
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def validate(ctx, paths):
    try:
        problems = _engine(ctx, need_schema=False).validate(list(paths))
    except FileNotFoundError as exc:
        _fail(str(exc))
    if problems:
        click.echo(_("%(count)s problem(s) found; nothing can be deployed until they are fixed:", count=len(problems)), err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
        sys.exit(1)
    click.echo(_("Valid: no problems found."))


@main.command(help=_("Deploy BPMN/DMN files (default: the bundled processes) as new versions."))
@click.argument("paths", nargs=-1)
@click.option("--by", "actor", help=_("User name of the designer of the change."))
@click.option("--approved-by", "approver", help=_("User name approving the deployment (never the designer)."))
@click.pass_context
def deploy(ctx, paths, actor, approver):
    engine = _engine(ctx)
    try:
        results = engine.deploy(list(paths) or [BUNDLED_BPMN], actor=actor, source="cli", approved_by=approver)
    except DeploymentRejected as exc:
        click.echo(_("Refused; nothing was deployed:"), err=True)
        for p in exc.problems:
            click.echo(f"  - {p}", err=True)
        sys.exit(1)
    except FileNotFoundError as exc:
        _fail(str(exc))
    except EngineError as exc:
        _fail(translate_error(exc))
    for r in results:
        if r.created:
            click.echo(_("%(process)s: deployed as version %(version)s", process=r.process_id, version=r.version))
        else:
            click.echo(_("%(process)s: unchanged (version %(version)s)", process=r.process_id, version=r.version))


@main.group(help=_("Manage users, role grants, leave and API tokens."))
def users():
    pass


@users.command("add")
@click.argument("username")
@click.option("--password", help=_("Initial password (at least 8 characters)."))
@click.option("--name", "display_name", default="", help=_("Display name."))
@click.pass_context
def users_add(ctx, username, password, display_name):
    engine = _engine(ctx)
    _run(lambda: engine.add_user(username, password, display_name, actor=None, source="cli"))
    click.echo(_("User %(username)s added.", username=username))


def _money(value):
    if value is None:
        return None
    try:
        return Decimal(value.replace(",", ""))
    except InvalidOperation:
        _fail(_("'%(value)s' is not an amount.", value=value))


@users.command("grant")
@click.argument("username")
@click.argument("role")
@click.option("--branch", help=_("Limit the grant to one branch."))
@click.option("--limit", help=_("Authority limit in CNY, e.g. 3000000."))
@click.option("--from", "valid_from", type=click.DateTime(["%Y-%m-%d"]), help=_("First valid day."))
@click.option("--to", "valid_to", type=click.DateTime(["%Y-%m-%d"]), help=_("Last valid day."))
@click.pass_context
def users_grant(ctx, username, role, branch, limit, valid_from, valid_to):
    engine = _engine(ctx)
    _run(lambda: engine.grant_role(username, role, branch, _money(limit),
                                   valid_from.date() if valid_from else None, valid_to.date() if valid_to else None,
                                   actor=None, source="cli"))
    click.echo(_("Granted %(role)s to %(username)s.", role=role, username=username))


@users.command("leave", help=_("Record leave: the user is offered no work in the period."))
@click.argument("username")
@click.argument("first_day", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("last_day", type=click.DateTime(["%Y-%m-%d"]))
@click.pass_context
def users_leave(ctx, username, first_day, last_day):
    engine = _engine(ctx)
    _run(lambda: engine.record_leave(username, first_day.date(), last_day.date(), actor=None, source="cli"))
    click.echo(_("Leave recorded for %(username)s.", username=username))


@users.command("delegate", help=_("Let STAND_IN act on behalf of PRINCIPAL in the period."))
@click.argument("principal")
@click.argument("stand_in")
@click.argument("first_day", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("last_day", type=click.DateTime(["%Y-%m-%d"]))
@click.pass_context
def users_delegate(ctx, principal, stand_in, first_day, last_day):
    engine = _engine(ctx)
    _run(lambda: engine.delegate(principal, stand_in, first_day.date(), last_day.date(), actor=None, source="cli"))
    click.echo(_("%(stand_in)s stands in for %(principal)s.", stand_in=stand_in, principal=principal))


@users.command("unblock", help=_("Lift the origination block set by missed post-loan inspections."))
@click.argument("username")
@click.option("--by", "actor", required=True, help=_("The post-loan head lifting the block."))
@click.option("--reason", required=True, help=_("Why the block is lifted."))
@click.pass_context
def users_unblock(ctx, username, actor, reason):
    engine = _engine(ctx)
    _run(lambda: engine.lift_origination_block(username, actor, reason, source="cli"))
    click.echo(_("%(username)s may originate loans again.", username=username))


@users.command("token", help=_("Issue an API bearer token (shown once)."))
@click.argument("username")
@click.pass_context
def users_token(ctx, username):
    engine = _engine(ctx)
    token = _run(lambda: engine.issue_token(username, source="cli"))
    click.echo(token)


def _run(action):
    try:
        return action()
    except EngineError as exc:
        _fail(translate_error(exc))


@main.command(help=_("Fire every timer that is due."))
@click.option("--now", "now", help=_("Fire timers due as of this ISO-8601 time (default: now)."))
@click.pass_context
def tick(ctx, now):
    clock = None
    if now:
        try:
            clock = ManualClock(utc(datetime.fromisoformat(now)))
        except ValueError:
            _fail(_("'%(value)s' is not an ISO-8601 time, e.g. 2026-12-01T09:00:00+08:00.", value=now))
    engine = _engine(ctx, clock=clock)
    fired = engine.tick()
    click.echo(_("%(count)s process instance(s) moved on.", count=fired))


@main.command(help=_("Fire due timers forever (run one or more per database; PostgreSQL workers never fire an instance twice)."))
@click.option("--interval", default=30.0, show_default=True, help=_("Seconds between ticks."))
@click.pass_context
def worker(ctx, interval):
    engine = _engine(ctx)
    click.echo(_("Timer worker started; checking every %(seconds)s s.", seconds=interval))
    while True:
        fired = engine.tick()
        if fired:
            click.echo(_("%(count)s process instance(s) moved on.", count=fired))
        time.sleep(interval)


@main.command("raise-warning", help=_("Raise a risk warning (风险预警) on a loan; the credit risk department registers and decides it."))
@click.argument("loan")
@click.option("--by", "actor", required=True, help=_("Who raises it (customer, risk or post-loan manager)."))
@click.option("--signal", required=True, help=_("What was observed."))
@click.pass_context
def raise_warning(ctx, loan, actor, signal):
    engine = _engine(ctx)
    _run(lambda: engine.raise_warning(actor, loan, signal, source="cli"))
    click.echo(_("Warning raised on %(loan)s.", loan=loan))


@main.command("send-message", help=_("Deliver a business event to a loan, e.g. `creditflow send-message L-2026-000001 loan_repaid`."))
@click.argument("loan")
@click.argument("message")
@click.pass_context
def send_message(ctx, loan, message):
    engine = _engine(ctx)
    received_on = engine.clock.now().date().isoformat()
    taken = _run(lambda: engine.send_message(loan, message, {"received_on": received_on}, source="cli"))
    if taken:
        click.echo(_("%(count)s process instance(s) received %(message)s.", count=taken, message=message))
    else:
        click.echo(_("No process waits for %(message)s yet; it is kept and delivered when one does.", message=message))


@main.command(help=_("Drive synthetic loans through the whole lifecycle, moving the clock through post-loan inspections."))
@click.option("--loans", default=20, show_default=True, help=_("How many synthetic loans to run."))
@click.option("--seed", default=7, show_default=True, help=_("Random seed."))
@click.option("--inspections", default=2, show_default=True, help=_("Post-loan inspection rounds before repayment."))
@click.pass_context
def simulate(ctx, loans, seed, inspections):
    from .schema import upgrade
    from .simulate import Simulation
    clock = ManualClock()
    engine = _engine(ctx, clock=clock, need_schema=False)
    upgrade(engine.db)
    if not engine.deployed():
        engine.deploy([BUNDLED_BPMN], source="cli")
    summary = Simulation(engine, clock, seed=seed, inspections=inspections).run(loans, progress=True)
    click.echo(summary.render())


def _register_subcommands():
    from . import cli_audit, cli_policy
    cli_policy.register(main)
    cli_audit.register(main)


_register_subcommands()

__all__ = ["main", "database_url"]
