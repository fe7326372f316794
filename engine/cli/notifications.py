"""`creditflow notifications ...`: send the e-mail outbox now, for operators who do not wait for the worker."""
from __future__ import annotations

import sys

import click

from engine.cli.common import engine_from
from engine.i18n import _


@click.group(help=_("Notifications: send the e-mails waiting in the outbox."))
def notifications():
    pass


@notifications.command("send", help=_("Send every due notification e-mail once (the worker does this on every loop)."))
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help=_("At most this many e-mails."))
@click.pass_context
def notifications_send(ctx, limit):
    engine = engine_from(ctx)
    if not engine.settings.smtp_host:
        click.echo(_("E-mail is off (no CREDITFLOW_SMTP_HOST): notifications are shown in the web inbox only."))
        return
    run = engine.send_notifications(limit)
    click.echo(_("%(sent)s e-mail(s) sent, %(retrying)s will be retried, %(failed)s failed for good.",
                 sent=run.sent, retrying=run.retrying, failed=run.failed))
    if run.retrying or run.failed:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(notifications)
