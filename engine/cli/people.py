"""`creditflow users ...`: users, role grants, leave, delegation, origination blocks and API tokens."""
from __future__ import annotations

import click

from engine import i18n
from engine.cli.common import engine_from, money, run
from engine.i18n import _


@click.group(help=_("Manage users, role grants, leave and API tokens."))
def users():
    pass


@users.command("add")
@click.argument("username")
@click.option("--password", help=_("Initial password (at least 8 characters)."))
@click.option("--name", "display_name", default="", help=_("Display name."))
@click.pass_context
def users_add(ctx, username, password, display_name):
    engine = engine_from(ctx)
    run(lambda: engine.add_user(username, password, display_name, actor=None, source="cli"))
    click.echo(_("User %(username)s added.", username=username))


@users.command("grant")
@click.argument("username")
@click.argument("role")
@click.option("--branch", help=_("Limit the grant to one branch."))
@click.option("--limit", help=_("Authority limit in CNY, e.g. 3000000."))
@click.option("--from", "valid_from", type=click.DateTime(["%Y-%m-%d"]), help=_("First valid day."))
@click.option("--to", "valid_to", type=click.DateTime(["%Y-%m-%d"]), help=_("Last valid day."))
@click.pass_context
def users_grant(ctx, username, role, branch, limit, valid_from, valid_to):
    engine = engine_from(ctx)
    at_risk = run(lambda: engine.grant_role(username, role, branch, money(limit),
                                            valid_from.date() if valid_from else None,
                                            valid_to.date() if valid_to else None, actor=None, source="cli"))
    click.echo(_("Granted %(role)s to %(username)s.", role=role, username=username))
    for pair in at_risk:
        click.echo(_("Warning: %(username)s can now stand on both sides of %(rule)s (%(name)s); the engine still "
                     "refuses one person on both sides on the same loan.", username=username, rule=pair.id,
                     name=pair.name_zh if i18n.cli_locale() == "zh_CN" else pair.name), err=True)


@users.command("leave", help=_("Record leave: the user is offered no work in the period."))
@click.argument("username")
@click.argument("first_day", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("last_day", type=click.DateTime(["%Y-%m-%d"]))
@click.pass_context
def users_leave(ctx, username, first_day, last_day):
    engine = engine_from(ctx)
    run(lambda: engine.record_leave(username, first_day.date(), last_day.date(), actor=None, source="cli"))
    click.echo(_("Leave recorded for %(username)s.", username=username))


@users.command("leave-report", help=_("Who in a sensitive role has had the mandatory leave this year."))
@click.option("--year", type=int, help=_("Calendar year (default: this year in the bank's time zone)."))
@click.pass_context
def users_leave_report(ctx, year):
    engine = engine_from(ctx)
    report = run(lambda: engine.leave_report(year))
    click.echo(_("Mandatory leave %(year)s: at least %(days)s consecutive business days for %(roles)s.",
                 year=report.year, days=report.min_business_days, roles=", ".join(report.roles)))
    statuses = {"compliant": _("compliant"),
                "not_yet": _("not yet: %(days)s business day(s) missing"),
                "missed": _("missed: %(days)s business day(s) short")}
    rows = [(p.username, ", ".join(p.roles), ", ".join(p.branches) or "-", str(p.longest_run),
             statuses[p.status] % {"days": p.missing}) for p in report.people]
    table = [(_("User"), _("Roles"), _("Branch"), _("Longest leave (business days)"), _("Status")), *rows]
    w = [max(len(row[i]) for row in table) for i in range(4)]
    for user, roles, branches, longest, status in table:
        click.echo(f"{user:<{w[0]}}  {roles:<{w[1]}}  {branches:<{w[2]}}  {longest:>{w[3]}}  {status}")
    click.echo(_("%(short)s of %(total)s people have not had their mandatory leave.", short=report.short,
                 total=len(report.people)))


@users.command("delegate", help=_("Let STAND_IN act on behalf of PRINCIPAL in the period."))
@click.argument("principal")
@click.argument("stand_in")
@click.argument("first_day", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("last_day", type=click.DateTime(["%Y-%m-%d"]))
@click.pass_context
def users_delegate(ctx, principal, stand_in, first_day, last_day):
    engine = engine_from(ctx)
    run(lambda: engine.delegate(principal, stand_in, first_day.date(), last_day.date(), actor=None, source="cli"))
    click.echo(_("%(stand_in)s stands in for %(principal)s.", stand_in=stand_in, principal=principal))


@users.command("unblock", help=_("Lift the origination block set by missed post-loan inspections."))
@click.argument("username")
@click.option("--by", "actor", required=True, help=_("The post-loan head lifting the block."))
@click.option("--reason", required=True, help=_("Why the block is lifted."))
@click.pass_context
def users_unblock(ctx, username, actor, reason):
    engine = engine_from(ctx)
    run(lambda: engine.lift_origination_block(username, actor, reason, source="cli"))
    click.echo(_("%(username)s may originate loans again.", username=username))


@users.command("token", help=_("Issue an API bearer token (shown once)."))
@click.argument("username")
@click.pass_context
def users_token(ctx, username):
    engine = engine_from(ctx)
    token = run(lambda: engine.issue_token(username, source="cli"))
    click.echo(token)


@users.command("tokens", help=_("List a user's API tokens (issued, expiry, revoked)."))
@click.argument("username")
@click.pass_context
def users_tokens(ctx, username):
    engine = engine_from(ctx)
    rows = run(lambda: engine.tokens(username))
    if not rows:
        click.echo(_("%(username)s has no API tokens.", username=username))
    now = engine.clock.now()
    for token_id, issued, expires, revoked in rows:
        state = _("revoked") if revoked else _("expired") if expires and expires <= now else _("valid")
        click.echo(f"#{token_id}  {issued.isoformat(timespec='minutes')}  "
                   f"{expires.isoformat(timespec='minutes') if expires else '-'}  {state}")


@users.command("revoke-token", help=_("Revoke an API token by its number (see `creditflow users tokens`)."))
@click.argument("token_id", type=int)
@click.pass_context
def users_revoke_token(ctx, token_id):
    engine = engine_from(ctx)
    run(lambda: engine.revoke_token(token_id, source="cli"))
    click.echo(_("API token %(id)s revoked.", id=token_id))


@users.command("contact", help=_("Set where a user's notification e-mails go and in which language."))
@click.argument("username")
@click.option("--email", help=_("E-mail address (an empty value removes it)."))
@click.option("--locale", type=click.Choice(["zh_CN", "en"]), help=_("Language of the user's e-mails."))
@click.pass_context
def users_contact(ctx, username, email, locale):
    engine = engine_from(ctx)
    run(lambda: engine.set_contact(username, email, locale, actor=None, source="cli"))
    click.echo(_("Contact details of %(username)s saved.", username=username))


def register(main: click.Group) -> None:
    main.add_command(users)
