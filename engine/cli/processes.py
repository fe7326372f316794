"""`creditflow init-db`, `validate` and `deploy`: the schema and the deployed process versions."""
from __future__ import annotations

import sys

import click

from engine.bootstrap import BUNDLED_BPMN
from engine.cli.common import described, engine_from, fail, refuse
from engine.errors import EngineError
from engine.i18n import _, translate_error
from engine.runtime.validation import DeploymentRejected


@click.command("init-db", help=_("Create or upgrade the database schema."))
@click.pass_context
def init_db(ctx):
    from engine.store.schema import upgrade
    engine = engine_from(ctx, need_schema=False)
    upgrade(engine.db)
    click.echo(_("Database ready: %(url)s", url=engine.db.engine.url.render_as_string(hide_password=True)))


@click.command(help=_("Check BPMN/DMN files (or folders) without deploying them."))
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def validate(ctx, paths):
    try:
        engine = engine_from(ctx, need_schema=False)
        found = engine.check(list(paths))
        warnings = engine.untranslated(list(paths))
    except FileNotFoundError as exc:
        fail(str(exc))
    problems = [p for p in found if p.severity == "error" and not p.rule]
    stalls = [p for p in found if p.severity == "error" and p.rule]
    advice = [p for p in found if p.severity != "error"]
    if warnings:
        click.echo(_("%(count)s name(s) without an English translation in the catalogs:", count=len(warnings)),
                   err=True)
        for w in warnings:
            click.echo(f"  - {w}", err=True)
    if problems:
        click.echo(_("%(count)s problem(s) found; nothing can be deployed until they are fixed:", count=len(problems)), err=True)
        for p in problems:
            click.echo(f"  - {described(p)}", err=True)
    if stalls:
        click.echo(_("%(count)s lint error(s): loans would stall here:", count=len(stalls)), err=True)
        for p in stalls:
            click.echo(f"  - {described(p)} [{p.rule}]", err=True)
    if advice:
        click.echo(_("%(count)s lint warning(s); deploying still works:", count=len(advice)), err=True)
        for p in advice:
            click.echo(f"  - {described(p)} [{p.rule}]", err=True)
    if problems or stalls:
        sys.exit(1)
    click.echo(_("Valid, with %(count)s lint warning(s).", count=len(advice)) if advice
               else _("Valid: no problems found."))


@click.command(help=_("Deploy BPMN/DMN files (default: the bundled processes) as new versions. A change needs its "
                      "designer (--by) and a different approver (--approved-by); only the first deployment into an "
                      "empty database goes without them."))
@click.argument("paths", nargs=-1)
@click.option("--by", "actor", help=_("User name of the designer of the change."))
@click.option("--approved-by", "approver", help=_("User name approving the deployment (never the designer)."))
@click.pass_context
def deploy(ctx, paths, actor, approver):
    engine = engine_from(ctx)
    try:
        results = engine.deploy(list(paths) or [BUNDLED_BPMN], actor=actor, source="cli", approved_by=approver)
    except DeploymentRejected as exc:
        refuse(_("Refused; nothing was deployed:"), exc.problems)
    except FileNotFoundError as exc:
        fail(str(exc))
    except EngineError as exc:
        fail(translate_error(exc))
    for r in results:
        if r.created:
            click.echo(_("%(process)s: deployed as version %(version)s", process=r.process_id, version=r.version))
        else:
            click.echo(_("%(process)s: unchanged (version %(version)s)", process=r.process_id, version=r.version))


@click.command(help=_("Move running loans to another version of a process, where it is safe: every step they "
                      "have done or are at exists unchanged in that version."))
@click.argument("loans", nargs=-1, required=True)
@click.option("--process", "process_id", required=True, help=_("The process, e.g. origination."))
@click.option("--to", "version", type=int, required=True, help=_("The version to move them to."))
@click.option("--by", "actor", required=True, help=_("User name of the process designer moving them."))
@click.option("--reason", required=True, help=_("Why; kept in the audit trail."))
@click.pass_context
def migrate(ctx, loans, process_id, version, actor, reason):
    engine = engine_from(ctx)
    try:
        outcomes = engine.migrate_loans(actor, process_id, version, list(loans), reason, source="cli")
    except EngineError as exc:
        fail(translate_error(exc))
    refused = 0
    for o in outcomes:
        if o.migrated:
            click.echo(_("%(loan)s: moved from version %(old)s to %(new)s", loan=o.loan_ref, old=o.from_version,
                         new=o.to_version))
        else:
            refused += 1
            click.echo(_("%(loan)s: not moved: %(reason)s", loan=o.loan_ref, reason=_(o.template, **dict(o.params))),
                       err=True)
    if refused:
        sys.exit(1)


def register(main: click.Group) -> None:
    for command in (init_db, validate, deploy, migrate):
        main.add_command(command)
