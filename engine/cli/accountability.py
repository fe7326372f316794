"""`creditflow accountability export`: the accountability register (连带问责) as a file, its SHA-256 printed."""
from __future__ import annotations

import click

from engine.cli.common import engine_from, run
from engine.i18n import _


@click.group(help=_("The accountability register: loans gone bad and who answers for them."))
def accountability():
    pass


@accountability.command("export", help=_("Write the register (every loan, or one) as CSV or JSON; print its SHA-256."))
@click.option("--loan", "loan_ref", help=_("Only this loan, e.g. L-2026-000001."))
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help=_("Write to this file instead of standard output."))
@click.pass_context
def export(ctx, loan_ref, fmt, output):
    engine = engine_from(ctx)
    body, digest = run(lambda: engine.export_register(fmt, loan_ref))
    if output:
        with open(output, "wb") as handle:
            handle.write(body)
    else:
        click.echo(body.decode("utf-8"), nl=False)
    click.echo(f"SHA-256 {digest}", err=True)


def register(main: click.Group) -> None:
    main.add_command(accountability)
