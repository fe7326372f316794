"""The `creditflow` command: database, deployments, users, timers and simulation."""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation

import click
from sqlalchemy import inspect
from sqlalchemy.exc import InterfaceError, OperationalError

from .bootstrap import BUNDLED_BPMN, build_engine, database_url
from .logs import configure_logging
from .settings import ConfigurationError, load_settings
from .clock import ManualClock, utc
from .errors import DatabaseUnavailable, EngineError
from . import i18n
from .i18n import _, translate_error
from .validation import DeploymentRejected

worker_log = logging.getLogger("creditflow.worker")


def _engine(ctx: click.Context, clock=None, need_schema: bool = True):
    try:
        engine = build_engine(clock=clock, settings=ctx.obj["settings"])
    except ConfigurationError as exc:
        _fail(_("Configuration error: %(problem)s", problem=str(exc)))
    ctx.call_on_close(engine.db.dispose)
    if need_schema and not inspect(engine.db.engine).has_table("alembic_version"):
        _fail(_("The database %(url)s has no tables yet; run `creditflow init-db` (or `creditflow demo`) first.",
                url=engine.db.engine.url.render_as_string(hide_password=True)))
    return engine


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, help=_("creditflow: credit lifecycle workflow engine."))
@click.option("--database", help=_("SQLAlchemy URL (default: CREDITFLOW_DATABASE_URL, else instance/creditflow.sqlite)."))
@click.option("--policy", help=_("Policy YAML file (default: CREDITFLOW_POLICY_PATH, else the bundled policy)."))
@click.pass_context
def main(ctx, database, policy):
    ctx.ensure_object(dict)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        _fail(_("Configuration error: %(problem)s", problem=str(exc)))
    configure_logging(settings)
    i18n.CLI_LANG = settings.lang
    ctx.obj["settings"] = settings.merged(database_url=database, policy_path=policy)


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
    at_risk = _run(lambda: engine.grant_role(username, role, branch, _money(limit),
                                             valid_from.date() if valid_from else None,
                                             valid_to.date() if valid_to else None, actor=None, source="cli"))
    click.echo(_("Granted %(role)s to %(username)s.", role=role, username=username))
    for pair in at_risk:
        click.echo(_("Warning: %(username)s can now stand on both sides of %(rule)s (%(name)s); the engine still "
                     "refuses one person on both sides on the same loan.", username=username, rule=pair.id,
                     name=pair.name_zh if i18n.cli_locale() == "zh_CN" else pair.name), err=True)


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


@users.command("tokens", help=_("List a user's API tokens (issued, expiry, revoked)."))
@click.argument("username")
@click.pass_context
def users_tokens(ctx, username):
    engine = _engine(ctx)
    rows = _run(lambda: engine.tokens(username))
    if not rows:
        click.echo(_("%(username)s has no API tokens.", username=username))
    now = engine.clock.now()
    for token_id, issued, expires, revoked in rows:
        state = _("revoked") if revoked else _("expired") if expires and expires <= now else _("valid")
        click.echo(f"#{token_id}  {issued.isoformat(timespec='minutes')}  "
                   f"{expires.isoformat(timespec='minutes') if expires else '-'}  {state}")


@users.command("revoke-token", help=_("Revoke an API token by its number (see `creditflow users tokens`)."))
@click.argument("token_id", type=int)
@click.pass_context
def users_revoke_token(ctx, token_id):
    engine = _engine(ctx)
    _run(lambda: engine.revoke_token(token_id, source="cli"))
    click.echo(_("API token %(id)s revoked.", id=token_id))


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
    started = engine.clock.now()
    fired = engine.tick()
    click.echo(_("%(count)s process instance(s) moved on.", count=fired))
    failed = [i for i in engine.incidents() if i.last_seen >= started and i.kind != "task"]
    if failed:
        click.echo(_("%(count)s instance(s) failed and wait on an incident (see `creditflow incidents list`).",
                     count=len(failed)), err=True)


@main.command(help=_("Fire due timers forever (run one or more per database; PostgreSQL workers never fire an instance twice)."))
@click.option("--interval", type=float, help=_("Seconds between ticks (default: CREDITFLOW_WORKER_INTERVAL, 30)."))
@click.pass_context
def worker(ctx, interval):
    settings = ctx.obj["settings"]
    interval = settings.worker_interval if interval is None else interval
    engine = _engine(ctx, need_schema=False)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stopping.set())
    click.echo(_("Timer worker started; checking every %(seconds)s s.", seconds=interval))
    away_since = None
    try:
        while not stopping.is_set():
            try:
                fired = engine.tick()
                away_since = None
                if fired:
                    click.echo(_("%(count)s process instance(s) moved on.", count=fired))
            except (DatabaseUnavailable, OperationalError, InterfaceError) as exc:
                away_since = away_since or time.monotonic()
                away = time.monotonic() - away_since
                if away > settings.worker_db_outage_seconds:
                    click.echo(_("The database has been unreachable for %(seconds)s s; the worker stops.",
                                 seconds=int(away)), err=True)
                    sys.exit(3)
                worker_log.warning("database unreachable, retrying: %s", str(exc).splitlines()[0],
                                   extra={"outcome": "database_unreachable"})
                engine.db.engine.dispose()  # reconnect on the next attempt
            except Exception:  # noqa: BLE001 - the worker outlives any one bad tick
                worker_log.exception("tick failed", extra={"outcome": "error"})
            stopping.wait(interval if away_since is None else min(interval, 5.0))
    except KeyboardInterrupt:
        pass
    click.echo(_("Timer worker stopped."))


@main.group(help=_("Steps that failed outside a person's request: list them and retry."))
def incidents():
    pass


@incidents.command("list", help=_("Open incidents (or all with --all)."))
@click.option("--all", "show_all", is_flag=True, help=_("Include resolved incidents."))
@click.pass_context
def incidents_list(ctx, show_all):
    engine = _engine(ctx)
    rows = engine.incidents(status=None if show_all else "open")
    if not rows:
        click.echo(_("No open incidents.") if not show_all else _("No incidents."))
        return
    for i in rows:
        wait = (i.next_attempt_at.isoformat(timespec="minutes") if i.next_attempt_at
                else _("when the task is completed again") if i.kind == "task" else _("waits for a person"))
        click.echo(f"#{i.id}  {i.loan_ref}  {i.kind:<7} {i.status:<8} {i.process_id} v{i.process_version} "
                   f"{i.step or '?'}  " + _("attempts %(n)s", n=i.attempts) + f"  {wait}")
        click.echo(f"      {i.error}")


@incidents.command("retry", help=_("Retry an incident now, optionally on the newest deployed version of the process."))
@click.argument("incident_id", type=int)
@click.option("--by", "actor", required=True, help=_("The administrator or process designer who retries."))
@click.option("--to-latest", is_flag=True, help=_("First move the instance to the newest deployed version (a fixed redesign)."))
@click.pass_context
def incidents_retry(ctx, incident_id, actor, to_latest):
    engine = _engine(ctx)
    incident = _run(lambda: engine.retry_incident(incident_id, actor, to_latest=to_latest, source="cli"))
    if incident.status == "resolved":
        click.echo(_("Incident %(id)s resolved: the step went through.", id=incident_id))
    else:
        click.echo(_("Incident %(id)s failed again (attempt %(n)s): %(error)s", id=incident_id, n=incident.attempts,
                     error=incident.error), err=True)
        sys.exit(1)


@main.command(help=_("List stuck work: running processes that wait for nothing, and tasks nobody may perform."))
@click.pass_context
def doctor(ctx):
    report = _engine(ctx).doctor()
    for s in report.stuck:
        note = _("incident %(id)s", id=s.incident_id) if s.incident_id else _("no incident explains it")
        click.echo(_("Stuck: %(loan)s %(process)s v%(version)s (instance %(instance)s) waits for nothing since "
                     "%(since)s; %(note)s.", loan=s.loan_ref, process=s.process_id, version=s.process_version,
                     instance=s.instance_id, since=s.since.isoformat(timespec="minutes"), note=note))
    for t in report.unserved:
        click.echo(_("Nobody may do task %(id)s '%(name)s' on %(loan)s (role %(role)s, branch %(branch)s).",
                     id=t.item_id, name=t.name, loan=t.loan_ref, role=t.role, branch=t.branch))
    if report.healthy:
        click.echo(_("No stuck work: every running process waits for a task, a timer or a message."))
    else:
        sys.exit(1)


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
@click.option("--resume", is_flag=True, help=_("Finish the loans an interrupted run left open instead of starting new ones."))
@click.pass_context
def simulate(ctx, loans, seed, inspections, resume):
    from .schema import upgrade
    from .simulate import Simulation
    clock = ManualClock()
    engine = _engine(ctx, clock=clock, need_schema=False)
    upgrade(engine.db)
    if not engine.deployed():
        engine.deploy([BUNDLED_BPMN], source="cli")
    simulation = Simulation(engine, clock, seed=seed, inspections=inspections)
    summary = simulation.resume() if resume else simulation.run(loans, progress=True)
    click.echo(summary.render())


def _register_subcommands():
    from . import cli_audit, cli_policy
    cli_policy.register(main)
    cli_audit.register(main)


_register_subcommands()

__all__ = ["main", "database_url"]
