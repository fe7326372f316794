"""`creditflow audit keygen`, `audit verify-offline` and `audit verify --record`: the bank's checkpoint key, proving
an exported trail intact from files alone (the export, the signed checkpoints, the public key), without the
database, and the integrity page's verification run from cron."""
from __future__ import annotations

import sys

import click

from engine.audit.integrity import MESSAGES as REASONS
from engine.audit.offline import UnreadableFile, read_records, verify_offline as check_export
from engine.audit.signing import MESSAGES as REFUSALS, fingerprint, generate_key_pair, load_public_key
from engine.i18n import _
from engine.cli.common import engine_from, fail, run
from engine.settings import ConfigurationError


@click.command(help=_("Write a new Ed25519 key pair for signing checkpoints: the private key readable by its owner "
                      "only. Keep it outside the database server."))
@click.option("--out", "directory", required=True, type=click.Path(file_okay=False),
              help=_("The directory to write checkpoint-signing.pem and checkpoint-signing.pub.pem to."))
def keygen(directory):
    try:
        private_path, public_path = generate_key_pair(directory)
    except FileExistsError as exc:
        click.echo(_("%(file)s exists already; a key is never overwritten.", file=exc.filename), err=True)
        sys.exit(1)
    click.echo(_("Private key: %(file)s (mode 0600; point CREDITFLOW_CHECKPOINT_KEY at it).", file=private_path))
    click.echo(_("Public key: %(file)s (give it to whoever verifies offline).", file=public_path))
    click.echo(_("Key fingerprint: %(fingerprint)s", fingerprint=fingerprint(load_public_key(public_path))))


def _reason(code: str, params: dict) -> str:
    return _(REASONS.get(code, code), **params)


@click.command("verify-offline", help=_("Verify an exported trail (`audit export --all --format json`) against "
                                        "signed checkpoints with the bank's public key, without the database."))
@click.option("--checkpoints", "checkpoint_file", required=True, type=click.Path(dir_okay=False),
              help=_("The checkpoint file the worker appends to (JSON lines, or a JSON list)."))
@click.option("--public-key", "key_file", required=True, type=click.Path(dir_okay=False),
              help=_("The bank's public key (PEM)."))
@click.option("--events", "events_file", required=True, type=click.Path(dir_okay=False),
              help=_("The exported trail (JSON)."))
def verify_offline(checkpoint_file, key_file, events_file):
    try:
        public_key = load_public_key(key_file)
        checkpoints = list(read_records(checkpoint_file))
        report = check_export(read_records(events_file), checkpoints, public_key)
    except (ConfigurationError, UnreadableFile) as exc:
        click.echo(_("Cannot verify: %(problem)s", problem=str(exc)), err=True)
        sys.exit(2)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        click.echo(_("Cannot verify: an entry lacks a field the verification needs (%(problem)s).",
                     problem=str(exc)), err=True)
        sys.exit(2)
    for point, code, params in report.refused:
        click.echo(_("Checkpoint of %(time)s at event %(event)s refused: %(reason)s", time=point.get("created_at", "?"),
                     event=point.get("event_id", "?"), reason=_(REFUSALS[code], **params)), err=True)
    if report.finding is not None:
        finding = report.finding
        click.echo(_("event %(id)s: %(reason)s", id=finding.event_id, reason=_reason(finding.reason, finding.params)),
                   err=True)
        if report.failed_checkpoint is not None:
            click.echo(_("The exported trail does not match the checkpoint signed at %(time)s.",
                         time=report.failed_checkpoint.get("created_at", "?")), err=True)
        else:
            click.echo(_("The exported trail is broken; %(count)s event(s) before it are intact.",
                         count=report.checked), err=True)
    if not report.accepted and not report.refused:
        click.echo(_("%(file)s holds no checkpoint: nothing proves the trail was not rewritten.",
                     file=checkpoint_file), err=True)
    if not report.intact:
        sys.exit(1)
    click.echo(_("The exported trail is intact: %(count)s event(s) checked up to event %(event)s; it matches "
                 "%(points)s signed checkpoint(s) of key %(fingerprint)s.", count=report.checked,
                 event=report.last_event_id, points=len(report.accepted), fingerprint=fingerprint(public_key)[:16]))



def recorded_verification(ctx: click.Context, mode: str) -> None:
    """The integrity page's verification, by the engine (source cli): exit 1 naming the first bad event."""
    engine = engine_from(ctx)
    result = run(lambda: engine.verify_audit_trail(None, mode, source="cli"))
    if not result.intact:
        click.echo(_("event %(id)s: %(reason)s", id=result.broken_event_id,
                     reason=_reason(result.broken_reason, result.broken_params)), err=True)
        fail(_("The audit trail is broken; verification %(id)s recorded it (the audit pages show it).", id=result.id))
    click.echo(_("The audit trail is intact: %(count)s event(s) checked; verification %(id)s recorded checkpoint "
                 "%(checkpoint)s.", count=result.checked, id=result.id, checkpoint=result.checkpoint_id or "—"))
