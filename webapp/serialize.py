"""Engine views as JSON: money as exact strings, times in ISO-8601 UTC."""
from __future__ import annotations

from datetime import datetime


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value) -> str | None:
    return None if value is None else str(value)


def item_json(item, now: datetime) -> dict:
    return {
        "id": item.id, "loan_ref": item.loan_ref, "borrower": item.borrower, "amount": _money(item.amount),
        "branch": item.branch, "process_id": item.process_id, "step": item.bpmn_id, "name": item.name,
        "role": item.role, "duty": item.duty, "stage": item.stage, "assigned_to": item.candidate_user,
        "claimed_by": item.claimed_by, "created_at": _time(item.created_at), "due_at": _time(item.due_at),
        "overdue": item.overdue(now), "title": _task_title(item),
    }


def _instructions(view) -> str:
    from .templating import task_instructions
    return task_instructions(view.item, view.instructions)


def _task_title(item) -> str:
    """The task's name in the request's language (`name` is the one stored with it)."""
    from .templating import task_name
    return task_name(item)


def act_json(act) -> dict:
    return {"username": act.username, "duty": act.duty, "process_id": act.process_id, "step": act.step,
            "on_behalf_of": act.on_behalf_of, "performed_at": _time(act.performed_at)}


def done_json(done) -> dict:
    return {"loan_ref": done.loan_ref, "borrower": done.borrower, **act_json(done.act)}


def instance_json(inst) -> dict:
    return {"id": inst.id, "process_id": inst.process_id, "process_name": inst.process_name,
            "version": inst.version, "status": inst.status, "next_timer_due": _time(inst.next_timer_due),
            "created_at": _time(inst.created_at), "completed_steps": list(inst.completed_steps),
            "current_steps": list(inst.current_steps), "taken_flows": list(inst.taken_flows)}


def loan_json(loan, items, now: datetime | None = None) -> dict:
    return {
        "reference": loan.reference, "borrower": loan.borrower, "product": loan.product,
        "amount": _money(loan.amount), "currency": loan.currency, "branch": loan.branch,
        "originator": loan.originator, "loan_type": loan.loan_type, "stage": loan.stage,
        "classification": loan.classification, "status": loan.status, "created_at": _time(loan.created_at),
        "application": _plain(loan.application),
        "instances": [instance_json(i) for i in loan.instances],
        "open_tasks": [{"id": i.id, "name": i.name, "role": i.role, "step": i.bpmn_id, "assigned_to": i.candidate_user,
                        "claimed_by": i.claimed_by, "due_at": _time(i.due_at)} for i in items],
        "approval": approval_json(loan.approval),
        "maturity_date": loan.maturity_date.isoformat() if loan.maturity_date else None,
        "extensions": loan.extensions, "replaces": loan.replaces, "replaced_by": list(loan.replaced_by),
    }


def loan_row_json(row) -> dict:
    return {"reference": row.reference, "borrower": row.borrower, "customer_identifier": row.customer_identifier,
            "product": row.product, "amount": _money(row.amount), "currency": row.currency, "branch": row.branch,
            "originator": row.originator, "stage": row.stage, "status": row.status,
            "classification": row.classification, "created_at": _time(row.created_at),
            "updated_at": _time(row.updated_at)}


def approval_json(approval) -> dict | None:
    if approval is None:
        return None
    return {"amount": _money(approval.amount), "paid": _money(approval.paid), "undrawn": _money(approval.undrawn),
            "currency": approval.currency, "term_months": approval.term_months, "conditions": approval.conditions,
            "approved_at": _time(approval.approved_at),
            "payments": [{"paid_at": _time(p.paid_at), "mode": p.mode, "amount": _money(p.amount),
                          "currency": p.currency, "counterparty_name": p.counterparty_name,
                          "counterparty_account": p.counterparty_account, "reference": p.reference,
                          "paid_by": p.paid_by} for p in approval.payments]}


def task_json(view, now: datetime) -> dict:
    return {"task": item_json(view.item, now), "instructions": _instructions(view), "form": view.form,
            "data": _plain(view.data)}


def diagram_response(xml: str, name: str):
    """A diagram is data for the viewer, never a page: plain text, an attachment, and a sandbox, so markup hidden
    in a BPMN file cannot run in the app's origin when someone opens its address directly."""
    from flask import Response
    return Response(xml, content_type="text/plain; charset=utf-8", headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'attachment; filename="{name.rsplit("/", 1)[-1]}"',
        "Content-Security-Policy": "default-src 'none'; sandbox"})


def incident_json(incident, user) -> dict:
    """An incident; process designers also get the link to the failing step on the loan's diagram."""
    from flask import url_for
    link = None
    if user.has_role("process_designer"):
        link = url_for("loans.show", reference=incident.loan_ref, incident=incident.id,
                       _anchor=f"instance-{incident.instance_id}")
    return {"id": incident.id, "loan": incident.loan_ref, "instance_id": incident.instance_id, "kind": incident.kind,
            "process_id": incident.process_id, "process_version": incident.process_version, "step": incident.step,
            "step_name": incident.step_name, "error": incident.error, "status": incident.status,
            "attempts": incident.attempts, "first_seen": _time(incident.first_seen),
            "last_seen": _time(incident.last_seen), "next_attempt_at": _time(incident.next_attempt_at),
            "resolved_at": _time(incident.resolved_at), "resolved_by": incident.resolved_by, "diagram_url": link}


def _plain(value):
    """Decimals (exact) as strings, dates as ISO text, for anything stored on the case."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def notification_json(note) -> dict:
    from flask import request
    return {"id": note.id, "kind": note.kind, "loan": note.loan_ref, "task_id": note.item_id, "title": note.title,
            "text": note.text, "link": request.script_root + note.link, "created_at": _time(note.created_at),
            "read": not note.unread, "read_at": _time(note.read_at)}
