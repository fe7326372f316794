"""`flask init-db`: create or upgrade the schema and deploy the bundled processes."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from engine.bootstrap import BUNDLED_BPMN
from engine.i18n import _
from engine.store.schema import upgrade


def prepare_database(engine) -> None:
    """Create or upgrade the schema and deploy the bundled processes (a no-op when already there)."""
    upgrade(engine.db)
    engine.deploy([BUNDLED_BPMN], actor=None, source="cli")


@click.command("init-db", help=_("Create or upgrade the database and deploy the bundled BPMN."))
@with_appcontext
def init_db_command():
    from flask import current_app
    engine = current_app.extensions["creditflow"]
    prepare_database(engine)
    click.echo(_("Database ready: %(url)s", url=engine.db.engine.url.render_as_string(hide_password=True)))
