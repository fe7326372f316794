"""Follow-up on the accountability register (连带问责): a finding on who answers for a loan gone bad, proposed by the
credit risk department and decided by a branch or department head, never the same person (SOD-18)."""
from __future__ import annotations

from sqlalchemy import select

from engine.commands.unit import Unit
from engine.errors import InvalidInput, NotFound
from engine.queries.register import loan_register
from engine.store.lookups import loan_row
from engine.store.models import AccountabilityFinding, DutyRecord, Loan
from engine.store.people import get_user

PROPOSE, DECIDE = "propose_accountability", "decide_accountability"
LEVELS = ("none", "minor", "major")  # the responsibility a finding gives each person
DECISIONS = {"accept": "accepted", "reject": "rejected"}
PROCESS = "accountability"  # the process id duty records of findings carry (no BPMN: a desk, not a flow)
MAX_TEXT = 4000


def _subject(finding_id: int) -> str:
    return f"{PROCESS}:{finding_id}"


def _text(value, name: str, required: bool = True) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None or len(text) > MAX_TEXT:
        raise InvalidInput("Write at most %(count)s characters.", fields={name: "Too long."}, count=MAX_TEXT)
    if required and not text:
        raise InvalidInput("This field is required.", fields={name: "This field is required."})
    return text


def _responsibility(values, people: list[str]) -> list[dict]:
    """One row per person on the register the finding names: their level and what it rests on."""
    if not isinstance(values, list) or not values:
        raise InvalidInput("Name at least one person and the responsibility they bear.",
                           fields={"responsibility": "This field is required."})
    rows, seen = [], set()
    for row in values:
        person = (row or {}).get("person") if isinstance(row, dict) else None
        if person not in people:
            raise InvalidInput("%(username)s is not on this loan's register.", username=str(person),
                               fields={"responsibility": "Not on the register."})
        if person in seen:
            raise InvalidInput("%(username)s is named twice.", username=person,
                               fields={"responsibility": "Named twice."})
        seen.add(person)
        level = row.get("level")
        if level not in LEVELS:
            raise InvalidInput("Choose none, minor or major for %(username)s.", username=person,
                               fields={"responsibility": "Choose a level."})
        rows.append({"person": person, "level": level, "note": _text(row.get("note"), "responsibility", False)})
    return rows


def _record_duty(unit: Unit, loan: Loan, actor: str, duty: str, subject: str, decision) -> None:
    unit.session.add(DutyRecord(loan_id=loan.id, username=actor, duty=duty, process_id=PROCESS, subject=subject,
                                on_behalf_of=decision.on_behalf_of, performed_at=unit.clock.now()))


def propose_finding(unit: Unit, actor: str, loan_ref: str, finding: str, responsibility: list,
                    sanction: str) -> int:
    """A finding on a loan in the register; returns its id."""
    loan = loan_row(unit.session, loan_ref)
    user = get_user(unit.session, actor)
    register = loan_register(unit.session, loan_ref)
    row = AccountabilityFinding(loan_id=loan.id, finding=_text(finding, "finding"),
                                responsibility=_responsibility(responsibility, register.people),
                                sanction=_text(sanction, "sanction", False), status="proposed", proposed_by=actor,
                                proposed_at=unit.clock.now())
    unit.session.add(row)
    unit.session.flush()
    decision = unit.gate.check_duty(unit, user, PROPOSE, loan, subject=_subject(row.id))
    _record_duty(unit, loan, actor, PROPOSE, _subject(row.id), decision)
    unit.audit.record("accountability_proposed", actor=actor, role=unit.policy.duty_specs[PROPOSE].roles[0],
                      on_behalf_of=decision.on_behalf_of, loan_ref=loan.reference,
                      detail={"finding": row.id, "after": {"finding": row.finding, "responsibility": row.responsibility,
                                                           "sanction": row.sanction, "status": row.status}})
    return row.id


def decide_finding(unit: Unit, actor: str, finding_id: int, decision: str, reason: str) -> str:
    """Accept or reject a proposed finding, with reasons; returns the new status."""
    row = unit.session.get(AccountabilityFinding, finding_id)
    if row is None:
        raise NotFound("No accountability finding %(id)s.", id=finding_id)
    if decision not in DECISIONS:
        raise InvalidInput("Accept or reject the finding.", fields={"decision": "Choose one."})
    reason = _text(reason, "reason")
    loan = unit.session.scalar(select(Loan).where(Loan.id == row.loan_id))
    user = get_user(unit.session, actor)
    verdict = unit.gate.check_duty(unit, user, DECIDE, loan, subject=_subject(row.id))
    if row.status != "proposed":
        raise InvalidInput("Finding %(id)s was already decided.", id=finding_id)
    before = {"status": row.status}
    row.status, row.decided_by, row.decided_at, row.decision_reason = (DECISIONS[decision], actor, unit.clock.now(),
                                                                       reason)
    _record_duty(unit, loan, actor, DECIDE, _subject(row.id), verdict)
    unit.audit.record("accountability_decided", actor=actor, role=unit.policy.duty_specs[DECIDE].roles[0],
                      on_behalf_of=verdict.on_behalf_of, loan_ref=loan.reference, reason=reason,
                      detail={"finding": row.id, "before": before, "after": {"status": row.status}})
    return row.status
