"""`creditflow raise-warning`, `send-message` and `loans extend` / `loans replace`: events on and changes to a
running loan."""
from __future__ import annotations

import click

from engine.cli.common import engine_from, money, run
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


@click.group("loans", help=_("Changes to a disbursed loan: extension (展期), refinancing (借新还旧), restructuring (重组)."))
def loans():
    pass


@loans.command("extend", help=_("Request an extension (展期) of a disbursed loan before it matures; it is investigated, "
                                "reviewed and approved one tier up, then moves the loan's maturity."))
@click.argument("loan")
@click.option("--by", "actor", required=True, help=_("The customer manager who requests it."))
@click.option("--months", required=True, type=int, help=_("How many months to extend by."))
@click.option("--reason", required=True, help=_("Why the borrower cannot repay at maturity."))
@click.pass_context
def extend(ctx, loan, actor, months, reason):
    engine = engine_from(ctx)
    run(lambda: engine.request_extension(actor, loan, months, reason, source="cli"))
    click.echo(_("Extension of %(loan)s requested; the investigation is in %(user)s's inbox.", loan=loan, user=actor))


@loans.command("replace", help=_("Refinance (借新还旧) or restructure (重组) a disbursed loan: a new linked loan runs "
                                 "through origination one tier up and settles this one when it is paid out."))
@click.argument("loan")
@click.option("--by", "actor", required=True, help=_("The customer manager who applies."))
@click.option("--kind", required=True, type=click.Choice(["refinancing", "restructuring"]))
@click.option("--amount", help=_("Amount of the new loan (default: the outstanding principal)."))
@click.option("--term-months", type=int, help=_("Term of the new loan in months (default: the old loan's)."))
@click.pass_context
def replace(ctx, loan, actor, kind, amount, term_months):
    engine = engine_from(ctx)
    changes = {k: v for k, v in (("amount", money(amount)), ("term_months", term_months)) if v is not None}
    if "amount" in changes:
        changes["amount"] = float(changes["amount"])
    reference = run(lambda: engine.replace_loan(actor, loan, kind, changes, source="cli"))
    click.echo(_("%(new)s replaces %(loan)s (%(kind)s); it starts with its investigation.", new=reference, loan=loan,
                 kind=kind))


def register(main: click.Group) -> None:
    for command in (raise_warning, send_message, loans):
        main.add_command(command)
