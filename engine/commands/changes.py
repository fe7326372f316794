"""Four eyes on every redesign: one process designer drafts and submits a change, another approves it (and only
then it deploys) or rejects it with a reason. The author never decides their own change."""
from __future__ import annotations

import re
from hashlib import sha256

from sqlalchemy import select

from engine.commands.deployment import deploy_bundles
from engine.commands import policy_versions
from engine.commands.notifications import notify
from engine.commands.unit import Unit
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.runtime.parser import SourceFile
from engine.runtime.specs import prepare_deployment
from engine.runtime.validation import DeploymentRejected
from engine.store.lookups import newest_files
from engine.store.models import ProcessChange, RoleGrant, User

# What a change may hold: diagrams, decision tables, their English catalogs, and form schemas under forms/.
FILE_NAME_PATTERN = r"^(?!.*\.\.)(forms/)?[\w\-\u4e00-\u9fff][\w\-.\u4e00-\u9fff]{0,120}\.(bpmn|dmn|json)$"
FILE_NAME = re.compile(FILE_NAME_PATTERN)
MAX_FILES = 60
MAX_TOTAL_CHARS = 5_000_000
MAX_NOTE_CHARS = 2000
OPEN = ("draft", "submitted")
MAX_ID = 2**31 - 1


def candidate_files(session, change: ProcessChange) -> dict[str, str]:
    return {**newest_files(session), **(change.files or {})}


def source_files(files: dict[str, str]) -> list[SourceFile]:
    return [SourceFile(name, text.encode("utf-8")) for name, text in sorted(files.items())]


def clean_files(files) -> dict[str, str]:
    """Names and sizes a change may carry; anything else is refused before it is stored."""
    if not isinstance(files, dict):
        raise InvalidInput("Send the files as an object of file name to file text.")
    if len(files) > MAX_FILES:
        raise InvalidInput("A change may hold at most %(limit)s files; it has %(count)s.", limit=MAX_FILES,
                           count=len(files))
    total = 0
    for name, text in files.items():
        if not isinstance(name, str) or not FILE_NAME.match(name):
            raise InvalidInput("'%(name)s' is not a file a process may have: use a .bpmn, .dmn or .en.json file "
                               "name, or forms/<name>.json, without folders.", name=str(name)[:80])
        if not isinstance(text, str):
            raise InvalidInput("The content of '%(name)s' must be text.", name=name)
        total += len(text)
    if total > MAX_TOTAL_CHARS:
        raise InvalidInput("The files of a change may hold at most %(limit)s characters in all; these hold "
                           "%(count)s.", limit=f"{MAX_TOTAL_CHARS:,}", count=f"{total:,}")
    return dict(files)


def _designer(unit: Unit, username: str, duty: str) -> User:
    user = unit.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("No user named '%(username)s'.", username=username)
    today = unit.policy.local_date(unit.clock.now())
    roles = {g.role for g in user.grants if (g.valid_from is None or g.valid_from <= today)
             and (g.valid_to is None or today <= g.valid_to)}
    allowed = set(unit.policy.duty_specs[duty].roles) if duty in unit.policy.duty_specs else {"process_designer"}
    if not user.active or not roles & allowed:
        raise NotAllowed("Only a process designer may draft, submit or decide process changes.")
    return user


def _change(unit: Unit, change_id: int, lock: bool = False) -> ProcessChange:
    if not 1 <= change_id <= MAX_ID:
        raise NotFound("No process change %(id)s.", id=change_id)
    query = select(ProcessChange).where(ProcessChange.id == change_id)
    change = unit.session.scalar(query.with_for_update() if lock else query)
    if change is None:
        raise NotFound("No process change %(id)s.", id=change_id)
    return change


def save_change(unit: Unit, username: str, files, note: str, change_id: int | None = None,
                policy_text: str | None = None) -> ProcessChange:
    """A new draft, or more edits on the author's own open draft; files equal to the deployed ones are dropped.
    `policy_text`: a new policy carried by the change ("" takes it out again; None leaves it as it is)."""
    _designer(unit, username, "design_process")
    edited = clean_files(files)
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput("The note may have at most %(limit)s characters.", limit=MAX_NOTE_CHARS)
    now = unit.clock.now()
    if change_id is None:
        change = ProcessChange(author=username, status="draft", note=note, files={}, created_at=now)
        unit.session.add(change)
    else:
        change = _change(unit, change_id, lock=True)
        if change.author != username:
            raise NotAllowed("Change %(id)s is %(author)s's; only its author edits it.", id=change.id,
                             author=change.author)
        if change.status != "draft":
            raise InvalidInput("Change %(id)s is %(status)s; only a draft can be edited.", id=change.id,
                               status=change.status)
        note = note or change.note
    base = newest_files(unit.session)
    merged = {**(change.files or {}), **edited}
    change.files = {name: text for name, text in sorted(merged.items()) if base.get(name) != text}
    if policy_text is not None:
        if not isinstance(policy_text, str) or len(policy_text) > MAX_TOTAL_CHARS:
            raise InvalidInput("The policy must be YAML text of at most %(limit)s characters.",
                               limit=f"{MAX_TOTAL_CHARS:,}")
        change.policy_text = policy_text if policy_text.strip() and \
            sha256(policy_text.encode("utf-8")).hexdigest() != unit.policy.sha256 else None
    change.note, change.updated_at = note, now
    unit.session.flush()
    unit.audit.record("change_saved", actor=username, detail={"change": change.id, "files": sorted(change.files),
                                                              "policy": change.policy_text is not None})
    return change


def submit_change(unit: Unit, username: str, change_id: int, problems) -> ProcessChange:
    """The author hands the draft to review; a draft with errors, or with nothing in it, is refused."""
    _designer(unit, username, "design_process")
    change = _change(unit, change_id, lock=True)
    if change.author != username:
        raise NotAllowed("Only the author of change %(id)s may submit it.", id=change.id)
    if change.status != "draft":
        raise InvalidInput("Change %(id)s is %(status)s; only a draft can be submitted.", id=change.id,
                           status=change.status)
    if not change.files and not change.policy_text:
        raise InvalidInput("Change %(id)s changes nothing: every file is the same as the deployed one.",
                           id=change.id)
    errors = [p for p in problems(candidate_files(unit.session, change), change.policy_text) if p.severity == "error"]
    if errors:
        raise InvalidInput("Change %(id)s has %(count)s error(s); fix them before submitting. First: %(first)s",
                           id=change.id, count=len(errors), first=str(errors[0]))
    change.status, change.submitted_at, change.updated_at = "submitted", unit.clock.now(), unit.clock.now()
    unit.audit.record("change_submitted", actor=username, detail={"change": change.id, "files": sorted(change.files)})
    for reviewer in _reviewers(unit, username):
        notify(unit, reviewer, "change_submitted", author=username, change=change.id, note=change.note or "—")
    return change


def _reviewers(unit: Unit, author: str) -> list[str]:
    """The other process designers: they are told a change waits for one of them."""
    return sorted(set(unit.session.scalars(select(User.username).join(RoleGrant).where(
        RoleGrant.role == "process_designer", User.active.is_(True), User.username != author))))


def withdraw_change(unit: Unit, username: str, change_id: int) -> ProcessChange:
    change = _change(unit, change_id, lock=True)
    if change.author != username:
        raise NotAllowed("Only the author of change %(id)s may withdraw it.", id=change.id)
    if change.status not in OPEN:
        raise InvalidInput("Change %(id)s is %(status)s and can no longer be withdrawn.", id=change.id,
                           status=change.status)
    change.status, change.updated_at = "withdrawn", unit.clock.now()
    unit.audit.record("change_withdrawn", actor=username, detail={"change": change.id})
    return change


def decide_change(unit: Unit, username: str, change_id: int, approve: bool, reason: str) -> ProcessChange:
    """Another designer approves (the change deploys in the same transaction) or rejects with a reason."""
    _designer(unit, username, "approve_deployment")
    change = _change(unit, change_id, lock=True)
    if change.status != "submitted":
        raise InvalidInput("Change %(id)s is %(status)s; only a submitted change can be decided.", id=change.id,
                           status=change.status)
    reason = (reason or "").strip()
    if len(reason) > MAX_NOTE_CHARS:
        raise InvalidInput("The reason may have at most %(limit)s characters.", limit=MAX_NOTE_CHARS)
    subject = f"change-{change.id}"
    unit.gate.check_deployment(unit, change.author, username, subject)
    now = unit.clock.now()
    if not approve:
        if not reason:
            raise InvalidInput("Say why the change is rejected; the author reads it.", fields={"reason": "required"})
        change.status = "rejected"
        unit.audit.record("change_rejected", actor=username, reason=reason,
                          detail={"change": change.id, "designed_by": change.author})
    else:
        policy = unit.policy
        if change.policy_text:
            policy, problems = policy_versions.candidate(change.policy_text, unit.policy, unit.session)
            if problems:
                raise InvalidInput("Change %(id)s cannot be deployed: %(first)s", id=change.id, first=str(problems[0]))
        try:
            bundles = prepare_deployment(source_files(candidate_files(unit.session, change)), policy)
        except DeploymentRejected as exc:
            raise InvalidInput("Change %(id)s no longer passes validation against what is deployed now: %(first)s",
                               id=change.id, first=str(exc.problems[0])) from exc
        results = deploy_bundles(unit, bundles, change.author, username)
        if policy is not unit.policy:
            policy_versions.record(unit, policy, change.policy_text, change.author, username, change.id)
        change.status = "approved"
        change.deployed = [[r.process_id, r.version, r.created] for r in results]
        unit.audit.record("change_approved", actor=username, reason=reason or None,
                          detail={"change": change.id, "designed_by": change.author,
                                  "deployed": [f"{r.process_id} v{r.version}" for r in results if r.created]})
    change.reviewer, change.decided_at, change.reason, change.updated_at = username, now, reason or None, now
    notify(unit, change.author, "change_decided", reviewer=username, change=change.id, decision=change.status,
           reason=reason or "")
    return change


def record_replay(unit: Unit, change_id: int, record: dict) -> None:
    """What the change would have done to the recorded loans, kept with it for the approver."""
    change = _change(unit, change_id, lock=True)
    change.replay, change.replayed_at = record, unit.clock.now()
