"""What every `creditflow` command module shares: opening the engine, failing, money; imports no other CLI module."""
from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from typing import NoReturn

import click
from sqlalchemy import inspect

from engine.bootstrap import build_engine
from engine.errors import EngineError
from engine.i18n import _, translate_error
from engine.settings import ConfigurationError


def engine_from(ctx: click.Context, clock=None, need_schema: bool = True):
    """The engine the main group's options describe, disposed of when `ctx` closes."""
    try:
        engine = build_engine(clock=clock, settings=ctx.obj["settings"])
    except ConfigurationError as exc:
        fail(_("Configuration error: %(problem)s", problem=str(exc)))
    ctx.call_on_close(engine.db.dispose)
    if need_schema and not inspect(engine.db.engine).has_table("alembic_version"):
        fail(_("The database %(url)s has no tables yet; run `creditflow init-db` (or `creditflow demo`) first.",
               url=engine.db.engine.url.render_as_string(hide_password=True)))
    return engine


def fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def run(action):
    """The action's result; an EngineError becomes its translated message and exit status 1."""
    try:
        return action()
    except EngineError as exc:
        fail(translate_error(exc))


def money(value):
    if value is None:
        return None
    try:
        return Decimal(value.replace(",", ""))
    except InvalidOperation:
        fail(_("'%(value)s' is not an amount.", value=value))


def described(problem) -> str:
    """A problem where it is (file, line, element) and what it is, in the command line's language."""
    where = problem.file
    if problem.line:
        where += _(", line %(line)s", line=problem.line)
    if problem.element:
        where += _(", element '%(element)s'", element=problem.element)
    return f"{where}: {problem.text(_)}"


def refuse(heading: str, problems) -> None:
    """Every problem that kept files from deploying, then exit 1."""
    click.echo(heading, err=True)
    for problem in problems:
        click.echo(f"  - {described(problem)}", err=True)
    sys.exit(1)
