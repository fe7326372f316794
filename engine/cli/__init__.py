"""The `creditflow` command: database, deployments, users, timers and simulation.

This package holds the main group only; each command group lives in its own module, which imports
`engine.cli.common` and never this package, and hands its commands over through `register(main)`.
"""
from __future__ import annotations

import click

from engine import i18n
from engine.bootstrap import database_url
from engine.cli import audit, loans, operations, people, policy, processes, simulation
from engine.cli import accountability, collateral, notifications, replay, servicing
from engine.cli.common import fail
from engine.i18n import _
from engine.ops.logs import configure_logging
from engine.settings import ConfigurationError, load_settings

# in the order the commands were added when they all lived in one module (`--help` sorts them anyway)
COMMAND_MODULES = (processes, people, operations, loans, simulation, policy, audit, notifications, replay, servicing,
                   collateral, accountability)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, help=_("creditflow: credit lifecycle workflow engine."))
@click.option("--database", help=_("SQLAlchemy URL (default: CREDITFLOW_DATABASE_URL, else instance/creditflow.sqlite)."))
@click.option("--policy", help=_("Policy YAML file (default: CREDITFLOW_POLICY_PATH, else the bundled policy)."))
@click.pass_context
def main(ctx, database, policy):
    ctx.ensure_object(dict)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        fail(_("Configuration error: %(problem)s", problem=str(exc)))
    configure_logging(settings)
    i18n.CLI_LANG = settings.lang
    ctx.obj["settings"] = settings.merged(database_url=database, policy_path=policy)


for _module in COMMAND_MODULES:
    _module.register(main)
del _module

__all__ = ["main", "database_url"]
