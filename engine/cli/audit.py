"""`creditflow audit`: verify the hash chain, export a loan's trace, take and check checkpoints."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click

from engine.audit.chain import resume_point, walk_chain
from engine.audit.search import EventFilter, iter_events
from engine.audit.conformance import KIND_LABELS, conformance_report, describe
from engine.audit.eventlog import event_log, sha256_hex, trail_events
from engine.audit.exports import (export_chunks, iter_trail, latest_checkpoint, verify_against_checkpoint,
                                  write_checkpoint)
from engine.cli.audit_integrity import keygen, recorded_verification, verify_offline
from engine.cli.common import engine_from, run
from engine.i18n import _


# The reasons engine/audit/chain.py's verify_chain gives, repeated here so the translation catalog has them.
MESSAGES = {
    "edited": "its content does not match its hash (the event was edited)",
    "unlinked": "its previous-hash does not match the event before it (an event was deleted, inserted or reordered)",
}


@contextmanager
def _engine(ctx: click.Context):
    """The engine the main group's options describe, disposed of when the command ends."""
    engine = engine_from(ctx.find_root())
    try:
        yield engine
    finally:
        engine.db.dispose()


def _write(output, chunks) -> None:
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return
    with open(output, "w", encoding="utf-8", newline="") as handle:
        for chunk in chunks:
            handle.write(chunk)


def _load_checkpoints(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        click.echo(_("Cannot read the checkpoint file %(file)s: %(error)s", file=path, error=exc), err=True)
        sys.exit(2)
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(c, dict) and "event_id" in c and "head_hash" in c for c in items):
        click.echo(_("%(file)s is not a checkpoint file (each entry needs event_id and head_hash).", file=path),
                   err=True)
        sys.exit(2)
    return items


@click.group(help=_("Check and export the audit trail."))
def audit():
    pass


@audit.command(help=_("Walk the hash chain; exit 1 naming the first broken event."))
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False),
              help=_("Also check the chain against a checkpoint file exported earlier."))
@click.option("--incremental", is_flag=True,
              help=_("Walk only the events after the newest checkpoint in the database (which must still match), "
                     "then record a new checkpoint: a daily verification in seconds."))
@click.option("--record", type=click.Choice(["incremental", "full"]),
              help=_("Run the verification the integrity page runs (incremental from the last verified checkpoint, "
                     "or full) and record its result: the audit pages show the alarm until one passes."))
@click.pass_context
def verify(ctx, checkpoint_file, incremental, record):
    if record:
        recorded_verification(ctx.find_root(), record)
        return
    checkpoints = _load_checkpoints(checkpoint_file) if checkpoint_file else []
    with _engine(ctx) as engine, engine.db.reading() as session:
        start = None
        if incremental:
            latest = latest_checkpoint(session)
            if latest is not None:
                _require_checkpoint(session, latest)
                start = resume_point(session, int(latest["event_id"]))  # the checkpoint's own event is walked too
                click.echo(_("Starting after checkpoint %(id)s (event %(event)s).", id=latest["checkpoint"],
                             event=latest["event_id"]))
        walk = walk_chain(session, start=start)
        checked, broken = walk.checked, walk.broken
        if broken is not None:
            click.echo(_("event %(id)s: %(reason)s", id=broken.event_id, reason=_(broken.reason)), err=True)
            click.echo(_("The audit chain is broken; %(count)s event(s) before it are intact.", count=checked),
                       err=True)
            sys.exit(1)
        for point in checkpoints:
            _require_checkpoint(session, point)
    click.echo(_("The audit chain is intact: %(count)s event(s) checked.", count=checked))
    if checkpoints:
        click.echo(_("It matches %(count)s checkpoint(s).", count=len(checkpoints)))
    if incremental:
        with _engine(ctx) as engine, engine.db.transaction() as session:
            point = write_checkpoint(session, engine.clock, at=walk.last,  # what was verified, nothing newer
                                     signing_key=run(engine.checkpoint_signing_key))
        click.echo(_("Checkpoint %(id)s recorded at event %(event)s.", id=point["checkpoint"], event=point["event_id"]))


def _require_checkpoint(session, point: dict) -> None:
    """Exit 1 naming the event when the chain no longer matches this checkpoint."""
    result = verify_against_checkpoint(session, point)
    if not result.ok:
        click.echo(_("event %(id)s: %(reason)s", id=result.event_id, reason=_(result.reason)), err=True)
        click.echo(_("The audit chain does not match the checkpoint taken at %(time)s.",
                     time=point.get("created_at", "?")), err=True)
        sys.exit(1)


@audit.command(help=_("Export the events recorded about one loan or the whole trail (--all) as csv or json, or the "
                     "trail as an event log for process mining (ocel: OCEL 2.0 JSON, xes: IEEE 1849 XES), oldest "
                     "first."))
@click.option("--loan", "loan_ref", help=_("Loan reference, e.g. L-2026-000001."))
@click.option("--all", "whole", is_flag=True,
              help=_("Export the whole trail in chain order, for `audit verify-offline`."))
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "ocel", "xes"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help=_("Write to this file instead of standard output."))
@click.pass_context
def export(ctx, loan_ref, whole, fmt, output):
    if fmt in ("ocel", "xes"):
        _event_log(ctx, loan_ref, fmt, output)
        return
    if bool(loan_ref) == whole:
        click.echo(_("Give either --loan or --all."), err=True)
        sys.exit(2)
    if whole:
        with _engine(ctx) as engine, engine.db.reading() as session:
            _write(output, export_chunks(iter_trail(session), fmt))
        return
    with _engine(ctx) as engine, engine.db.reading() as session:
        events = list(iter_events(session, EventFilter(loan_ref=loan_ref)))
    if not events:
        click.echo(_("No events are recorded for loan %(loan)s.", loan=loan_ref), err=True)
        sys.exit(1)
    events.reverse()
    _write(output, export_chunks(events, fmt))
    if output:
        click.echo(_("%(count)s event(s) written to %(file)s.", count=len(events), file=output), err=True)


def _event_log(ctx, loan_ref, fmt, output) -> None:
    """The whole trail (or one loan's events) as OCEL 2.0 or XES, with the file's SHA-256."""
    with _engine(ctx) as engine, engine.db.reading() as session:
        events = list(trail_events(session, EventFilter(loan_ref=loan_ref) if loan_ref else None))
    if loan_ref and not events:
        click.echo(_("No events are recorded for loan %(loan)s.", loan=loan_ref), err=True)
        sys.exit(1)
    text = event_log(events, fmt)
    _write(output, [text])
    if output:
        click.echo(_("%(count)s event(s) written to %(file)s.", count=len(events), file=output), err=True)
        click.echo(_("SHA-256 %(digest)s", digest=sha256_hex(text)), err=True)


@audit.command(help=_("Replay each finished loan's recorded path against the process version it ran on and list "
                     "where it departed from the design: steps skipped or out of order, manual interventions, "
                     "deadlines missed, pair rules of the current policy broken."))
@click.option("--running", is_flag=True,
              help=_("Also check loans still running, up to now (open tasks past due count)."))
@click.option("--loan", "loan_ref", help=_("Only this loan."))
@click.pass_context
def conformance(ctx, running, loan_ref):
    with _engine(ctx) as engine, engine.db.reading() as session:
        report = conformance_report(session, engine.policy, now=engine.clock.now(), include_running=running,
                                    loan_ref=loan_ref)
    click.echo(_("%(loans)s loan(s) checked under policy %(policy)s; %(deviating)s departed from the design.",
                 loans=len(report.loans), policy=report.policy_version, deviating=len(report.deviating_loans)))
    for count in report.versions:
        kinds = ", ".join(f"{_(KIND_LABELS[k])} {n}" for k, n in sorted(count.kinds.items()))
        click.echo(_("%(process)s %(version)s: %(instances)s instance(s), %(deviating)s with deviations %(kinds)s",
                     process=count.process_id, version=count.version, instances=count.instances,
                     deviating=count.deviating, kinds=f"({kinds})" if kinds else ""))
    for loan in report.deviating_loans:
        click.echo("")
        click.echo(loan.loan_ref)
        for d in loan.deviations:
            template, params = describe(d)
            where = f"{d.process_id} {d.process_version}" if d.process_id else "-"
            click.echo(f"  {_plain_time(d.at)}  {_(KIND_LABELS[d.kind])}  {where}  {_(template, **params)}"
                       + (f"  [{d.event_id}]" if d.event_id else ""))


def _plain_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@audit.command(help=_("Record the chain head now (signed when CREDITFLOW_CHECKPOINT_KEY is set) and print it, to be kept somewhere the database administrators cannot write."))
@click.option("--output", type=click.Path(dir_okay=False),
              help=_("Also append the checkpoint to this JSON file (keep it outside the database server)."))
@click.pass_context
def checkpoint(ctx, output):
    with _engine(ctx) as engine:
        signing_key = run(engine.checkpoint_signing_key)
        with engine.db.transaction() as session:
            point = write_checkpoint(session, engine.clock, signing_key=signing_key)
    text = json.dumps(point, sort_keys=True)
    if output:
        _append_checkpoint(output, point)
        click.echo(_("Checkpoint %(id)s (event %(event)s) added to %(file)s.", id=point["checkpoint"],
                     event=point["event_id"], file=output), err=True)
    click.echo(text)


def _append_checkpoint(path: str, point: dict) -> None:
    """The file holds a JSON list of checkpoints, oldest first; `verify --checkpoint` checks them all."""
    try:
        with open(path, encoding="utf-8") as handle:
            existing = json.load(handle)
    except FileNotFoundError:
        existing = []
    except ValueError:
        click.echo(_("%(file)s is not a checkpoint file (each entry needs event_id and head_hash).", file=path),
                   err=True)
        sys.exit(2)
    items = existing if isinstance(existing, list) else [existing]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(items + [point], handle, indent=1, sort_keys=True)
        handle.write("\n")


def register(main: click.Group) -> None:
    for command in (keygen, verify_offline):
        audit.add_command(command)
    main.add_command(audit)
