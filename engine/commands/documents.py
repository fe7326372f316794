"""Attaching documents to a loan's file or to one of its tasks, and the checklist a task cannot be completed without.

The bytes are written to the document store before the transaction commits, under a key derived from their
SHA-256: if the transaction then rolls back, the file left behind is an unreferenced copy of some content (never a
wrong one), and attaching the same content again reuses it."""
from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, select

from engine.commands.unit import Unit, locked_item
from engine.documents import KIND_PATTERN, KINDS, ChecklistEntry, checklist_of, clean_filename, file_type
from engine.errors import InvalidInput, NotAllowed
from engine.store.files import DocumentStore, content_key
from engine.store.lookups import loan_row
from engine.store.models import Document, Loan, WorkItem
from engine.store.people import get_user


class MissingDocuments(InvalidInput):
    """A task's checklist names documents not yet attached on it; nothing was saved."""

    code = "missing_documents"


def attach(unit: Unit, store: DocumentStore, actor: str, loan_ref: str | None, item_id: int | None, kind: str,
           filename: str, data: bytes, max_bytes: int) -> int:
    """Check who attaches what, store the bytes, record the document and its SHA-256; returns its id."""
    user = get_user(unit.session, actor)
    item, instance, form = None, None, {}
    if item_id is not None:
        item, instance = locked_item(unit, item_id)
        loan = unit.session.get(Loan, item.loan_id)
        if loan_ref and loan.reference != loan_ref:
            raise InvalidInput("Task %(id)s is not on loan %(loan)s.", id=item_id, loan=loan_ref)
        if item.claimed_by and item.claimed_by != actor:
            raise NotAllowed("This task is claimed by %(user)s.", user=item.claimed_by)
        unit.gate.check_task(unit, user, item, loan, action="attach_document")
        form = unit.workflows.loaded(instance.process_version).user_tasks
        form = next((m.form for m in form.values() if m.bpmn_id == item.bpmn_id), {})
    else:
        loan = loan_row(unit.session, loan_ref or "")
        _check_loan_upload(unit, user, loan)
    kinds = set(KINDS) | {entry.kind for entry in checklist_of(form)}
    if not isinstance(kind, str) or not KIND_PATTERN.match(kind) or kind not in kinds:
        raise InvalidInput("Choose what kind of document this is.", fields={"kind": "This field is required."})
    name = clean_filename(filename)
    if not filename and not data:
        raise InvalidInput("Choose a file to attach.")
    if not data:
        raise InvalidInput("The file is empty; choose the file again.")
    if len(data) > max_bytes:
        raise InvalidInput("The file is %(size)s; the largest accepted is %(limit)s.", size=size_text(len(data)),
                           limit=size_text(max_bytes))
    if not name:
        raise InvalidInput("The file has no name; rename it and try again.")
    content_type = file_type(name, data)
    sha256 = hashlib.sha256(data).hexdigest()
    key = content_key(sha256)
    store.put(key, data)
    document = Document(loan_id=loan.id, instance_id=item.instance_id if item else None,
                        work_item_id=item.id if item else None, step=item.bpmn_id if item else None,
                        step_name=item.name if item else None, kind=kind, filename=name, content_type=content_type,
                        size=len(data), sha256=sha256, storage_key=key, uploaded_by=actor,
                        uploaded_at=unit.clock.now())
    unit.session.add(document)
    unit.session.flush()
    unit.audit.record("document_attached", actor=actor, role=item.role if item else None, loan_ref=loan.reference,
                      process_id=item.process_id if item else None, instance_id=item.instance_id if item else None,
                      process_version=instance.process_version.version if item else None,
                      step=item.bpmn_id if item else None, step_name=item.name if item else None,
                      detail={"document_id": document.id, "name": name, "kind": kind, "size": len(data),
                              "sha256": sha256, "content_type": content_type,
                              "task": item.task_id if item else None, "work_item": item.id if item else None})
    return document.id


def _check_loan_upload(unit: Unit, user, loan: Loan) -> None:
    """On the loan as a whole: its originator, or anyone who may work one of its open tasks."""
    if user.username == loan.originator:
        return
    items = unit.session.scalars(select(WorkItem).where(WorkItem.loan_id == loan.id)).all()
    for item in items:
        if item.claimed_by == user.username or (
                not item.claimed_by and unit.gate.decide(unit.session, user, item, loan).allowed):
            return
    error = NotAllowed("Only the loan's originator or someone who may work one of its open tasks may attach "
                       "documents to it.")
    error.audit_fields = dict(actor=user.username, loan_ref=loan.reference, rule="DOCUMENT_UPLOAD",
                              reason=str(error), detail={"attempted": "attach_document"})
    raise error


_KINDS_ATTACHED = select(Document.kind).where(Document.loan_id == bindparam("loan_id"),
                                              Document.instance_id == bindparam("instance_id"),
                                              Document.step == bindparam("step"))


def missing_documents(unit: Unit, loan: Loan, item: WorkItem, form: dict) -> list[ChecklistEntry]:
    """Required documents of the task's checklist not attached on this step (an earlier round of the same step,
    e.g. an investigation returned for supplements, counts)."""
    required = [entry for entry in checklist_of(form) if entry.required]
    if not required:
        return []
    present = set(unit.session.connection().scalars(_KINDS_ATTACHED, {
        "loan_id": loan.id, "instance_id": item.instance_id, "step": item.bpmn_id}))
    return [entry for entry in required if entry.kind not in present]


def check_checklist(unit: Unit, loan: Loan, item: WorkItem, form: dict) -> None:
    """Refuse the completion (before anything changed) while a required document is missing."""
    missing = missing_documents(unit, loan, item, form)
    if missing:
        raise MissingDocuments(
            "Attach the required document(s) before completing this task: %(documents)s.",
            documents=", ".join(e.title for e in missing),
            documents_zh="、".join(e.title_zh or e.title for e in missing))


def size_text(size: int) -> str:
    """A size as people read it (bytes, KB, MB)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"

