"""`creditflow servicing import FILE`: the core banking feed (核心系统) loaded from a CSV or JSON file."""
from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import click

from engine.cli.common import engine_from, fail, run
from engine.i18n import _


@click.group(help=_("Post-loan servicing: loan positions from the core banking system."))
def servicing():
    pass


@servicing.command("import", help=_("Record each loan's position from a CSV or JSON file (the fields of the API's "
                                    "positions); prints what was accepted and each refused row, exits 1 if any."))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of", help=_("The business date of the positions (YYYY-MM-DD); else the file's as_of."))
@click.option("--onboard", is_flag=True, help=_("The rows also carry the credit file of loans disbursed before "
                                                "creditflow (docs/operations.md): open it for each loan not on file "
                                                "and start its post-loan care."))
@click.pass_context
def servicing_import(ctx, path, as_of, onboard):
    as_of, rows = read_feed(path, as_of)
    engine = engine_from(ctx)
    with click.progressbar(length=len(rows), label=_("Recording positions"), file=sys.stderr) as bar:
        summary = run(lambda: engine.import_positions(as_of, rows, actor=None, source="cli",
                                                      on_row=lambda: bar.update(1), onboard=onboard))
    if onboard:
        click.echo(_("Loans onboarded: %(onboarded)s onboarded, %(known)s already on file.",
                     onboarded=len(summary.onboarded),
                     known=len(summary.accepted) + len(summary.unchanged) - len(summary.onboarded)))
    click.echo(_("Positions as of %(day)s: %(accepted)s recorded, %(unchanged)s unchanged, %(refused)s refused.",
                 day=summary.as_of.isoformat(), accepted=len(summary.accepted), unchanged=len(summary.unchanged),
                 refused=len(summary.refused)))
    for error in summary.refused:
        click.echo(_("Row %(row)s (%(loan)s), %(field)s: %(problem)s", row=error.row, loan=error.loan or "-",
                     field=error.field, problem=_(error.template, **error.params)))
    if summary.refused:
        sys.exit(1)


def read_feed(path: Path, as_of: str | None) -> tuple[str, list]:
    """The rows of a JSON file ({"as_of", "positions"} or a list) or a CSV file with a header; the date to use."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            fail(_("%(file)s is not valid JSON: %(problem)s", file=path.name, problem=str(exc)))
        rows = data.get("positions") if isinstance(data, dict) else data
        as_of = as_of or (data.get("as_of") if isinstance(data, dict) else None)
        if not isinstance(rows, list):
            fail(_("%(file)s holds no list of positions.", file=path.name))
    else:
        rows = [{k: v for k, v in row.items() if k and v not in (None, "")}
                for row in csv.DictReader(io.StringIO(text))]
        dates = {row.pop("as_of") for row in rows if "as_of" in row}
        if not as_of and len(dates) > 1:
            fail(_("%(file)s holds positions of several dates; load one date at a time.", file=path.name))
        as_of = as_of or next(iter(dates), None)
    if not as_of:
        fail(_("Give the business date with --as-of (or an as_of in the file)."))
    return as_of, rows


def register(main: click.Group) -> None:
    main.add_command(servicing)
