"""`creditflow tick`, `worker`, `incidents ...` and `doctor`: timers, failed steps and stuck work."""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from datetime import datetime

import click
from sqlalchemy.exc import InterfaceError, OperationalError

from engine.cli.common import engine_from, fail, run
from engine.clock import ManualClock, utc
from engine.errors import DatabaseUnavailable
from engine.i18n import _
from engine.settings import checkpoint_interval

worker_log = logging.getLogger("creditflow.worker")


@click.command(help=_("Fire every timer that is due."))
@click.option("--now", "now", help=_("Fire timers due as of this ISO-8601 time (default: now)."))
@click.pass_context
def tick(ctx, now):
    clock = None
    if now:
        try:
            clock = ManualClock(utc(datetime.fromisoformat(now)))
        except ValueError:
            fail(_("'%(value)s' is not an ISO-8601 time, e.g. 2026-12-01T09:00:00+08:00.", value=now))
    engine = engine_from(ctx, clock=clock)
    started = engine.clock.now()
    fired = engine.tick()
    click.echo(_("%(count)s process instance(s) moved on.", count=fired))
    failed = [i for i in engine.incidents() if i.last_seen >= started and i.kind in ("timer", "message")]
    if failed:
        click.echo(_("%(count)s instance(s) failed and wait on an incident (see `creditflow incidents list`).",
                     count=len(failed)), err=True)


@click.command(help=_("Fire due timers forever (run one or more per database; PostgreSQL workers never fire an instance twice)."))
@click.option("--interval", type=float, help=_("Seconds between ticks (default: CREDITFLOW_WORKER_INTERVAL, 30)."))
@click.pass_context
def worker(ctx, interval):
    settings = ctx.obj["settings"]
    interval = settings.worker_interval if interval is None else interval
    engine = engine_from(ctx, need_schema=False)
    if checkpoint_interval(settings) is not None and not settings.checkpoint_key:
        fail(_("CREDITFLOW_CHECKPOINT_EVERY is set but CREDITFLOW_CHECKPOINT_KEY is not: the worker has no key to "
               "sign checkpoints with."))
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
                mailed = engine.send_notifications()
                if mailed.sent or mailed.failed:
                    click.echo(_("%(sent)s e-mail(s) sent, %(failed)s failed for good.", sent=mailed.sent,
                                 failed=mailed.failed))
                point = engine.export_checkpoint_if_due()
                if point:
                    click.echo(_("Signed checkpoint %(id)s (event %(event)s) exported.", id=point["checkpoint"],
                                 event=point["event_id"]))
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


@click.group(help=_("Steps that failed outside a person's request: list them and retry."))
def incidents():
    pass


@incidents.command("list", help=_("Open incidents (or all with --all)."))
@click.option("--all", "show_all", is_flag=True, help=_("Include resolved incidents."))
@click.pass_context
def incidents_list(ctx, show_all):
    engine = engine_from(ctx)
    rows = engine.incidents(status=None if show_all else "open")
    if not rows:
        click.echo(_("No open incidents.") if not show_all else _("No incidents."))
        return
    for i in rows:
        wait = (i.next_attempt_at.isoformat(timespec="minutes") if i.next_attempt_at
                else _("when the task is completed again") if i.kind == "task"
                else _("when someone allowed does the task") if i.kind == "unserved" else _("waits for a person"))
        click.echo(f"#{i.id}  {i.loan_ref}  {i.kind:<7} {i.status:<8} {i.process_id} v{i.process_version} "
                   f"{i.step or '?'}  " + _("attempts %(n)s", n=i.attempts) + f"  {wait}")
        click.echo(f"      {i.error}")


@incidents.command("retry", help=_("Retry an incident now, optionally on the newest deployed version of the process."))
@click.argument("incident_id", type=int)
@click.option("--by", "actor", required=True, help=_("The administrator or process designer who retries."))
@click.option("--to-latest", is_flag=True, help=_("First move the instance to the newest deployed version (a fixed redesign)."))
@click.pass_context
def incidents_retry(ctx, incident_id, actor, to_latest):
    engine = engine_from(ctx)
    incident = run(lambda: engine.retry_incident(incident_id, actor, to_latest=to_latest, source="cli"))
    if incident.status == "resolved":
        click.echo(_("Incident %(id)s resolved: the step went through.", id=incident_id))
    else:
        click.echo(_("Incident %(id)s failed again (attempt %(n)s): %(error)s", id=incident_id, n=incident.attempts,
                     error=incident.error), err=True)
        sys.exit(1)


@click.command(help=_("List stuck work: running processes that wait for nothing, and tasks nobody may perform."))
@click.pass_context
def doctor(ctx):
    report = engine_from(ctx).doctor()
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


def register(main: click.Group) -> None:
    for command in (tick, worker, incidents, doctor):
        main.add_command(command)
