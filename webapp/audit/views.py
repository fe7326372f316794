"""The audit routes: all GET, all read through engine.audit_queries in a read-only session."""
from __future__ import annotations

import json
import re

from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext

from engine.audit.search import EventFilter, iter_events, search_events
from engine.audit.conformance import KIND_LABELS, KINDS, conformance_report, describe
from engine.audit.eventlog import FORMATS as EVENT_LOGS, event_log, sha256_hex, trail_events
from engine.audit.exports import export_chunks
from engine.audit.trace import heatmap, instances_started, loan_trace, process_versions
from engine.audit.segregation import segregation_report
from engine.audit.history import person, policy_diff, policy_versions
from engine.errors import NotFound

from ..extensions import credit_engine
from ..i18n import is_chinese
from ..recorded import detail_words, refusal_reason
from ..serialize import diagram_response
from ..templating import ROLE_LABELS, duty_name, local_time, step_name, step_texts
from .blueprint import bp
from .sentences import display_name, sentence
from .params import ACTIONS, OUTCOMES, SOURCES, changes, cursor, duration, other_detail, read_filters, shown

PER_PAGE = 50
EXPORT_LIMIT = 200_000
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@bp.context_processor
def helpers():
    return {"changes": changes, "changed_count": lambda diff: sum(1 for row in diff if row[3]), "shown": shown,
            "other_detail": other_detail, "duration": duration, "refusal_reason": refusal_reason,
            "detail_words": detail_words, "action_labels": ACTIONS, "outcome_labels": OUTCOMES,
            "source_labels": SOURCES, "sentence": sentence, "display_name": display_name,
            "raw_json": lambda detail: json.dumps(detail, ensure_ascii=False, sort_keys=True, indent=1, default=str)}


@bp.get("/")
def search():
    filters, echo = read_filters(request.args)
    after, before = cursor(request.args, "after"), cursor(request.args, "before")
    with credit_engine().db.reading() as session:
        page = search_events(session, filters, after_id=after, before_id=None if after else before, per_page=PER_PAGE)
        versions = process_versions(session)
    return render_template("audit/search.html", page=page, filters=echo, roles=ROLE_LABELS,
                           processes=sorted({v[0] for v in versions}))


def _export(events_of, fmt: str, name: str, oldest_first=None) -> Response:
    """Stream an export while the read session stays open; the file name says what it holds. An event log (OCEL 2.0,
    XES) is built whole, oldest first, and carries its SHA-256 in X-Content-SHA256."""
    if fmt in EVENT_LOGS:
        with credit_engine().db.reading() as session:
            text = event_log(oldest_first(session), fmt)
        mimetype, extension = EVENT_LOGS[fmt]
        return Response(text, mimetype=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{name}.{extension}"',
                                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                 "X-Content-SHA256": sha256_hex(text)})
    if fmt not in FORMATS:
        abort(404)
    engine = credit_engine()

    def chunks():
        with engine.db.reading() as session:
            yield from export_chunks(events_of(session), fmt)

    return Response(chunks(), mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@bp.get("/export.<fmt>")
def export_search(fmt: str):
    filters, _echo = read_filters(request.args)
    return _export(lambda session: iter_events(session, filters, limit=EXPORT_LIMIT), fmt, "audit-events",
                   lambda session: trail_events(session, filters, limit=EXPORT_LIMIT))


@bp.get("/loans/<reference>")
def trace(reference: str):
    engine = credit_engine()
    with engine.db.reading() as session:
        found = loan_trace(session, reference)
    if not found.events:
        abort(404)
    try:
        loan = engine.loan(reference)
    except NotFound:
        loan = None
    diagrams = [{
        "instance": inst,
        "src": url_for("audit.diagram", version_id=inst.version_id) if inst.version_id else None,
        "done": [s.step for s in inst.steps],
        "current": list(inst.current),
        "performers": {s.step: [f"{actor or '—'} · {ROLE_LABELS.get(role, role or '')}"
                                + (f" ({on_behalf})" if on_behalf else "") for actor, role, on_behalf, _at in s.performers]
                       for s in inst.steps if s.performers},
    } for inst in found.instances]
    return render_template("audit/trace.html", trace=found, loan=loan, diagrams=diagrams)


@bp.get("/loans/<reference>/export.<fmt>")
def export_trace(reference: str, fmt: str):
    with credit_engine().db.reading() as session:
        if not search_events(session, EventFilter(loan_ref=reference), per_page=1).events:
            abort(404)

    def oldest_first(session):
        return loan_trace(session, reference).events
    return _export(oldest_first, fmt, "audit-" + re.sub(r"[^A-Za-z0-9_-]", "_", reference), oldest_first)


@bp.get("/versions/<int(max=2147483647):version_id>/diagram.bpmn")
def diagram(version_id: int):
    found = step_texts().diagram(version_id)  # names in the reader's language
    if found is None:
        abort(404)
    response = diagram_response(found[1], found[0])
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response


@bp.get("/heatmap")
def heatmap_page():
    with credit_engine().db.reading() as session:
        versions = process_versions(session)
        started = instances_started(session)
        busiest = max(versions, key=lambda v: started.get(v[:2], 0), default=None)
        chosen = next((v for v in versions if str(v[3]) == request.args.get("version")), busiest)
        stats = heatmap(session, chosen[0], chosen[1]) if chosen else None
    steps = {s.step: {"name": s.name, "kind": s.kind, "instances": s.instances, "completions": s.completions,
                      "median": duration(s.median_seconds) if s.median_seconds is not None else None}
             for s in stats.steps} if stats else {}
    return render_template("audit/heatmap.html", versions=versions, chosen=chosen, stats=stats, steps=steps,
                           started=started,
                           src=url_for("audit.diagram", version_id=chosen[3]) if chosen else None)


@bp.get("/segregation")
def segregation():
    engine = credit_engine()
    with engine.db.reading() as session:
        report = segregation_report(session, engine.policy)
    names = {rule.id: (rule.name_zh if is_chinese() else rule.name) for rule in engine.policy.rules}
    return render_template("audit/segregation.html", report=report, rule_names=names, policy=engine.policy,
                           search_link=lambda **args: url_for("audit.search", action="refused", **args))



def _versions():
    engine = credit_engine()
    with engine.db.reading() as session:
        return policy_versions(session, engine.settings.policy_path, engine.policy.sha256)


@bp.get("/policy")
def policy():
    versions = _versions()
    return render_template("audit/policy.html", versions=list(reversed(versions)))


@bp.get("/policy/diff")
def policy_compare():
    versions = _versions()
    by_version = {v.version: v for v in versions}
    if not versions:
        abort(404)
    new = by_version.get(request.args.get("new", "")) or versions[-1]
    old = by_version.get(request.args.get("old", "")) or versions[max(versions.index(new) - 1, 0)]
    return render_template("audit/policy_diff.html", diff=policy_diff(old, new), versions=versions)


@bp.get("/people/<username>")
def person_page(username: str):
    with credit_engine().db.reading() as session:
        found = person(session, username[:64])
    if found is None:
        abort(404)
    return render_template("audit/person.html", person=found)


def deviation_text(d) -> str:
    """What one deviation says, in the reader's language, with steps, duties and actions named as on other pages."""
    template, params = describe(d, lambda step, text: step_name(d.process_id, step, text, d.process_version))
    if d.kind in ("late", "overdue"):
        params.update(due=local_time(d.detail.get("due_at")), at=local_time(d.at))
    elif d.kind == "intervention" and "action" in params:
        params["action"] = ACTIONS.get(params["action"], params["action"])
    elif d.kind == "pair":
        params.update(first_duty=duty_name(params["first_duty"]), second_duty=duty_name(params["second_duty"]))
    return gettext(template, **params)


@bp.get("/conformance")
def conformance():
    """Each finished loan (and the running ones, asked for) replayed against the process version it ran on."""
    engine = credit_engine()
    running = request.args.get("running") == "1"
    with engine.db.reading() as session:
        report = conformance_report(session, engine.policy, now=engine.clock.now(), include_running=running)
    return render_template("audit/conformance.html", report=report, running=running, kinds=KINDS,
                           kind_labels={k: gettext(v) for k, v in KIND_LABELS.items()}, deviation_text=deviation_text)
