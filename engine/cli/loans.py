"""`creditflow raise-warning` and `send-message`: events on a running loan."""
from __future__ import annotations

import click

from engine.cli.common import engine_from, run
from engine.i18n import _


@click.command("raise-warning", help=_("Raise a risk warning (风险预警) on a loan; the credit risk department registers and decides it."))
@click.argument("loan")
@click.option("--by", "actor", required=True, help=_("Who raises it (customer, risk or post-loan manager)."))
@click.option("--signal", required=True, help=_("What was observed."))
@click.pass_context
def raise_warning(ctx, loan, actor, signal):
    engine = engine_from(ctx)
    run(lambda: engine.raise_warning(actor, loan, signal, source="cli"))
    click.echo(_("Warning raised on %(loan)s.", loan=loan))


@click.command("send-message", help=_("Deliver a business event to a loan, e.g. `creditflow send-message L-2026-000001 loan_repaid --by acct_ma`."))
@click.argument("loan")
@click.argument("message")
@click.option("--by", "actor", help=_("Who reports it (loan_repaid: an accounting operator; the core banking feed reports it too)."))
@click.pass_context
def send_message(ctx, loan, message, actor):
    engine = engine_from(ctx)
    received_on = engine.clock.now().date().isoformat()
    taken = run(lambda: engine.send_message(loan, message, {"received_on": received_on}, actor=actor, source="cli"))
    if taken:
        click.echo(_("%(count)s process instance(s) received %(message)s.", count=taken, message=message))
    else:
        click.echo(_("No process waits for %(message)s yet; it is kept and delivered when one does.", message=message))


def register(main: click.Group) -> None:
    for command in (raise_warning, send_message):
        main.add_command(command)
