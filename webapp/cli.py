"""The `creditflow` console script: the engine's commands plus `demo`."""
from __future__ import annotations

import logging

import click

from engine.bootstrap import database_url
from engine.cli import main
from engine.i18n import _
from engine.store.schema import upgrade

from .init_db import prepare_database

DEMO_PASSWORD = "demo-pass-2026"


@click.command(help=_("Create the demo database (users per role, a dozen loans) and serve the inbox on http://127.0.0.1:PORT."))
@click.option("--port", default=5000, show_default=True, help=_("Port to serve on (127.0.0.1 only)."))
@click.option("--password", default=DEMO_PASSWORD, show_default=True, help=_("Password of every demo user."))
@click.option("--no-serve", is_flag=True, help=_("Prepare the database and exit."))
@click.pass_context
def demo(ctx, port, password, no_serve):
    from . import create_app
    from .demo import first_sign_in, seed_demo, users_by_role
    settings = ctx.find_root().obj["settings"]
    # the same file every other creditflow command uses (./instance/creditflow.sqlite unless told otherwise)
    app = create_app(settings=settings.merged(database_url=database_url(settings=settings)))
    engine = app.extensions["creditflow"]
    upgrade(engine.db)
    result = None
    if not engine.usernames():  # the seeding deploys the processes itself, on the clock its history starts on
        quiet = logging.getLogger("creditflow")
        level = quiet.level
        quiet.setLevel(max(level, logging.WARNING))  # a few hundred seeding commands are not news to the user
        try:
            result = seed_demo(app.config["DATABASE_URL"], password, engine.clock.now(),
                               policy_path=app.config.get("POLICY_PATH"))
        finally:
            quiet.setLevel(level)
    prepare_database(engine)
    if result is None:
        click.echo(_("The database already has users; nothing was seeded."))
        click.echo(_("Demo users (password: the one given with --password when they were seeded, by default "
                     "%(password)s):", password=DEMO_PASSWORD))
    else:
        click.echo(_("Demo users (password: %(password)s):", password=password))
    for role, names in users_by_role(engine).items():
        click.echo(f"  {role:<22} {', '.join(names)}")
    if result is not None:
        click.echo(_("Demo loans:"))
        for reference, stage, status in result.loans:
            click.echo(f"  {reference}  {stage:<14} {status}")
        click.echo(_("Loans disbursed earlier, brought in by the core banking feed:"))
        for reference, stage, status in result.portfolio or []:
            click.echo(f"  {reference}   {stage:<14} {status}")
    first = first_sign_in(engine)
    if first:
        click.echo(_("Sign in first as %(username)s: a customer manager with tasks waiting.", username=first))
    if no_serve:
        return
    click.echo(_("Serving on http://127.0.0.1:%(port)s (Ctrl+C to stop)", port=port))
    app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)


main.add_command(demo)

__all__ = ["main", "demo"]
