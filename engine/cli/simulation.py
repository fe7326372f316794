"""`creditflow simulate`: synthetic loans driven through the whole lifecycle on a manual clock."""
from __future__ import annotations

import click

from engine.bootstrap import BUNDLED_BPMN
from engine.cli.common import engine_from
from engine.clock import ManualClock
from engine.i18n import _


@click.command(help=_("Drive synthetic loans through the whole lifecycle, moving the clock through post-loan inspections."))
@click.option("--loans", default=20, show_default=True, help=_("How many synthetic loans to run."))
@click.option("--seed", default=7, show_default=True, help=_("Random seed."))
@click.option("--inspections", default=2, show_default=True, help=_("Post-loan inspection rounds before repayment."))
@click.option("--resume", is_flag=True, help=_("Finish the loans an interrupted run left open instead of starting new ones."))
@click.pass_context
def simulate(ctx, loans, seed, inspections, resume):
    from engine.store.schema import upgrade
    from engine.simulation.driver import Simulation
    clock = ManualClock()
    engine = engine_from(ctx, clock=clock, need_schema=False)
    upgrade(engine.db)
    if not engine.deployed():
        engine.deploy([BUNDLED_BPMN], source="cli")
    simulation = Simulation(engine, clock, seed=seed, inspections=inspections)
    summary = simulation.resume() if resume else simulation.run(loans, progress=True)
    click.echo(summary.render())


def register(main: click.Group) -> None:
    main.add_command(simulate)
