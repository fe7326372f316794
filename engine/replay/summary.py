"""The replay's findings as a report: one entry per loan that would have gone differently, and sentences that sum
them up ("3 of 1,204 loans would have gone to branch_committee instead of dual_signature")."""
from __future__ import annotations

from collections import Counter, defaultdict

from policies.model import N_

from engine.views import REPLAY_KINDS, LoanReplay, ReplayDifference, ReplayReport, ReplaySentence

# Per kind: the sentence, and the params of a finding that tell its groups apart.
SENTENCES = {
    "tier": (N_("%(count)s of %(total)s loans would have gone to %(new)s instead of %(old)s."), ("old", "new")),
    "payment": (N_("%(count)s of %(total)s loans would have been paid by entrusted payment instead of to the "
                   "borrower."),
                ("old", "new")),
    "decision": (N_("%(count)s of %(total)s loans would have had another %(field)s."), ("field",)),
    "outcome": (N_("%(count)s of %(total)s loans would have ended differently."), ()),
    "path": (N_("%(count)s of %(total)s loans would have been asked for %(offered)s where they went on to "
                "%(recorded)s."),
             ("recorded", "offered")),
    "stall": (N_("%(count)s of %(total)s loans would have stalled."), ()),
    "unserved": (N_("%(count)s of %(total)s loans would have waited for %(step)s, which nobody could do."), ("step",)),
    "refused": (N_("%(count)s of %(total)s loans would have met a refusal under %(rule)s."), ("rule",)),
    "form": (N_("%(count)s of %(total)s loans: the form of %(step)s would refuse what was entered."), ("step",)),
    "error": (N_("%(count)s of %(total)s loans would have failed at %(step)s."), ("step",)),
}
PAID_DIRECTLY = N_("%(count)s of %(total)s loans would have been paid to the borrower instead of by entrusted "
                   "payment.")
NONE_DIFFER = N_("None of the %(total)s loans would have gone differently.")


def loan_replay(state) -> LoanReplay | None:
    """The loan's differences (each once), or None when the candidate would have done exactly what happened."""
    differences = []
    for process_id, step, finding in state.findings:
        difference = ReplayDifference(finding.kind, finding.template, finding.params, process_id, step)
        if difference not in differences:
            differences.append(difference)
    if not differences:
        return None
    history = state.history
    first = min(history.instances.values(), key=lambda i: i.id, default=None)
    runs = sorted(state.runs.values(), key=lambda r: r.instance_id)
    return LoanReplay(
        loan_ref=history.loan.reference, process_id=first.process_version.process_id if first else "",
        version=first.process_version.version if first else 0,
        differences=sorted(differences, key=lambda d: REPLAY_KINDS.index(d.kind)),
        recorded_steps=tuple(s for r in runs for s in r.recorded_steps),
        replayed_steps=tuple(s for r in runs for s in r.replayed_steps), status=history.loan.status)


def _template(kind: str, key: dict) -> str:
    return PAID_DIRECTLY if kind == "payment" and key.get("new") == "direct" else SENTENCES[kind][0]


def report(total: int, differing: list[LoanReplay], seconds: float, processes) -> ReplayReport:
    counts = Counter(kind for loan in differing for kind in loan.kinds)
    groups: dict[tuple, set[str]] = defaultdict(set)
    for loan in differing:
        for d in loan.differences:
            keys = SENTENCES[d.kind][1]
            groups[(d.kind, tuple((k, str(d.params.get(k, ""))) for k in keys))].add(loan.loan_ref)
    summary = [ReplaySentence(kind, _template(kind, dict(key)), {**dict(key), "count": len(refs), "total": total})
               for (kind, key), refs in groups.items()]
    summary.sort(key=lambda s: (-s.params["count"], REPLAY_KINDS.index(s.kind)))
    if not differing:
        summary = [ReplaySentence("", NONE_DIFFER, {"total": total})]
    return ReplayReport(total=total, same=total - len(differing), differing=differing,
                        counts={k: counts[k] for k in REPLAY_KINDS if counts[k]}, summary=summary,
                        seconds=round(seconds, 3), processes=tuple(sorted(processes)))


# Params whose values are themselves msgids (approval tiers).
TRANSLATED_PARAMS = ("old", "new")


def render(kind: str, template: str, params: dict, gettext) -> str:
    """A replay sentence in the reader's language (tier names and the policy's reasons too); `gettext` translates
    one message without filling it."""
    values = {k: (gettext(v) if kind == "tier" and k in TRANSLATED_PARAMS and isinstance(v, str) else v)
              for k, v in params.items()}
    if params.get("reason_template"):
        values["reason"] = _filled(gettext(params["reason_template"]), params["reason_template"],
                                   params.get("reason_params") or {})
    return _filled(gettext(template), template, values)


def _filled(text: str, original: str, values: dict) -> str:
    for candidate in (text, original):  # a translation that lost a parameter falls back to the original
        try:
            return candidate % values if values else candidate
        except (KeyError, TypeError, ValueError):
            continue
    return original


def as_record(report, limit: int) -> dict:
    """The report as plain JSON, kept with a change: the summary, the counts and each differing loan."""
    import json

    def plain(value):
        return json.loads(json.dumps(value, default=str))

    return plain({
        "total": report.total, "same": report.same, "counts": report.counts, "seconds": round(report.seconds, 2),
        "limit": limit,
        "summary": [[s.kind, s.template, s.params] for s in report.summary],
        "loans": [[loan.loan_ref, loan.process_id, loan.version, loan.status,
                   [[d.kind, d.template, d.params] for d in loan.differences]] for loan in report.differing[:300]],
    })
