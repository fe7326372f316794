"""`creditflow replay`: what a candidate version (and policy) would have done to the recorded loans."""
from __future__ import annotations

from pathlib import Path

import click

from engine.cli.common import engine_from, fail, refuse
from engine.errors import EngineError
from engine.i18n import _, translate_error
from engine.replay import summary
from engine.runtime.specs import collect_files
from engine.runtime.validation import DeploymentRejected

PROGRESS_FROM = 200  # loans: below this the replay is quick enough to need no progress line


def render(kind: str, template: str, params: dict) -> str:
    """A replay sentence in the command line's language."""
    return summary.render(kind, template, params, _)


def _progress(done: int, total: int) -> None:
    if total >= PROGRESS_FROM and (done % 100 == 0 or done == total):
        click.echo(_("%(done)s of %(total)s loans replayed", done=done, total=total), err=True)


@click.command(help=_("Replay the recorded loans through a candidate version and policy; nothing is changed."))
@click.option("--candidate", "candidate", required=True, type=click.Path(exists=True),
              help=_("Folder (or file) with the candidate BPMN, DMN and forms; the deployed files fill in the rest."))
@click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False),
              help=_("Candidate policy YAML (default: the current policy)."))
@click.option("--limit", type=click.IntRange(min=1), help=_("Replay only the newest N loans."))
@click.pass_context
def replay(ctx, candidate, policy_file, limit):
    engine = engine_from(ctx)
    try:
        files = {f.name: f.data.decode("utf-8") for f in collect_files([candidate])}
        policy_text = Path(policy_file).read_text("utf-8") if policy_file else None
        report = engine.replay(files, policy_text, limit, progress=_progress)
    except DeploymentRejected as exc:
        refuse(_("The candidate would not deploy; nothing was replayed:"), exc.problems)
    except EngineError as exc:
        fail(translate_error(exc))
    except (FileNotFoundError, ValueError) as exc:  # unreadable files, a policy that does not load
        fail(_("Cannot replay: %(problem)s", problem=str(exc)))
    click.echo(_("Replayed %(total)s loans in %(seconds)s s; %(same)s would have gone exactly as they did.",
                 total=report.total, seconds=f"{report.seconds:.1f}", same=report.same))
    for sentence in report.summary:
        click.echo(render(sentence.kind, sentence.template, sentence.params))
    for loan in report.differing:
        texts = " ".join(render(d.kind, d.template, d.params) for d in loan.differences)
        click.echo(_("%(loan)s (%(process)s version %(version)s): %(differences)s", loan=loan.loan_ref,
                     process=loan.process_id, version=loan.version, differences=texts))


def register(main: click.Group) -> None:
    main.add_command(replay)
