"""`creditflow collateral`: a loan's collateral items, and their release (解押) by two people after closure."""
from __future__ import annotations

import click

from engine.cli.common import engine_from, run
from engine.i18n import _


@click.group("collateral", help=_("Collateral items (押品) on a loan: list them, propose and approve a release (解押)."))
def collateral():
    pass


@collateral.command("list", help=_("The loan's collateral items: type, appraised value, next revaluation, status."))
@click.argument("loan")
@click.pass_context
def list_items(ctx, loan):
    for item in run(lambda: engine_from(ctx).collateral(loan)):
        next_one = item.next_revaluation_on.isoformat() if item.status == "registered" else "-"
        click.echo(f"{item.id}\t{item.collateral_type}\t{item.registration_number or '-'}\t{item.appraised_value:.2f}"
                   f"\t{item.appraised_on.isoformat()}\t{next_one}\t{item.status}")


@collateral.command("propose-release", help=_("Propose releasing a collateral item (collateral custodian), once the "
                                               "loan is repaid and its closure reviewed."))
@click.argument("loan")
@click.argument("item", type=int)
@click.option("--by", "actor", required=True, help=_("The collateral custodian who proposes it."))
@click.option("--reason", required=True, help=_("Why the item may be released."))
@click.pass_context
def propose_release(ctx, loan, item, actor, reason):
    run(lambda: engine_from(ctx).propose_release(actor, loan, item, reason, source="cli"))
    click.echo(_("Release of collateral item %(item)s on %(loan)s proposed; another person approves it.",
                 item=item, loan=loan))


@collateral.command("approve-release", help=_("Approve a proposed release (post-loan head or branch head; never the "
                                               "proposer)."))
@click.argument("loan")
@click.argument("item", type=int)
@click.option("--by", "actor", required=True, help=_("Who approves it."))
@click.pass_context
def approve_release(ctx, loan, item, actor):
    run(lambda: engine_from(ctx).approve_release(actor, loan, item, source="cli"))
    click.echo(_("Collateral item %(item)s on %(loan)s released.", item=item, loan=loan))


def register(main: click.Group) -> None:
    main.add_command(collateral)
