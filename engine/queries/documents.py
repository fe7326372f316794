"""A loan's documents, a task's checklist, a person's draft, and the bytes of a document for whoever may read it."""
from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.documents import checklist_of
from engine.errors import EngineError, NotAllowed, NotFound
from engine.kernel import Kernel
from engine.store.files import DocumentStore
from engine.store.lookups import loan_row, work_item
from engine.store.models import Document, Loan, ProcessInstance, ProcessVersion, TaskDraft
from engine.store.people import get_user, user_view
from engine.views import ChecklistItemView, DocumentView, DraftView


class DocumentTampered(EngineError):
    """The stored bytes no longer match the SHA-256 recorded when the file was attached (or are gone)."""

    code = "document_tampered"


def _view(doc: Document, loan_ref: str, process_id: str | None = None) -> DocumentView:
    return DocumentView(doc.id, loan_ref, doc.kind, doc.filename, doc.content_type, doc.size, doc.sha256,
                        doc.uploaded_by, doc.uploaded_at, doc.step, doc.step_name, doc.work_item_id, process_id)


def loan_documents(session: Session, loan_ref: str) -> list[DocumentView]:
    """Every document on the loan's file, oldest first."""
    loan = loan_row(session, loan_ref)
    rows = session.execute(select(Document, ProcessVersion.process_id)
                           .outerjoin(ProcessInstance, ProcessInstance.id == Document.instance_id)
                           .outerjoin(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
                           .where(Document.loan_id == loan.id).order_by(Document.id)).all()
    return [_view(d, loan.reference, process_id) for d, process_id in rows]


def checklist(session: Session, kernel: Kernel, item_id: int) -> tuple[list[ChecklistItemView], list[DocumentView]]:
    """The task's checklist with what is attached for each entry, and every document attached on this step."""
    item = work_item(session, item_id)
    loan = session.get(Loan, item.loan_id)
    loaded = kernel.workflows.loaded(session.get(ProcessInstance, item.instance_id).process_version)
    form = next((m.form for m in loaded.user_tasks.values() if m.bpmn_id == item.bpmn_id), {})
    attached = [_view(d, loan.reference, item.process_id) for d in session.scalars(select(Document).where(
        Document.loan_id == loan.id, Document.instance_id == item.instance_id, Document.step == item.bpmn_id)
        .order_by(Document.id))]
    entries = [ChecklistItemView(e.kind, e.title, e.title_zh, e.required,
                                 tuple(d for d in attached if d.kind == e.kind)) for e in checklist_of(form)]
    return entries, attached


def draft(session: Session, username: str, item_id: int) -> DraftView | None:
    """This person's own draft of the task; other people's drafts are never handed out."""
    row = session.scalar(select(TaskDraft).where(TaskDraft.work_item_id == item_id, TaskDraft.username == username))
    return DraftView(dict(row.values or {}), row.saved_at) if row else None


def document_file(session: Session, kernel: Kernel, store: DocumentStore, username: str,
                  document_id: int) -> tuple[DocumentView, bytes]:
    """The document and its bytes, for someone who may read the loan; the bytes are hashed again and refused
    when they are not what was attached."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound("No document %(id)s.", id=document_id)
    loan = session.get(Loan, doc.loan_id)
    reader = user_view(get_user(session, username), kernel.policy.local_date(kernel.clock.now()))
    if not reader.reads_branch(loan.branch, str(kernel.policy.params.get("head_office_branch", "HO"))):
        error = NotAllowed("You may not open the documents of loan %(loan)s.", loan=loan.reference)
        error.audit_fields = _refusal(username, loan, doc, "BRANCH", str(error))
        raise error
    try:
        data = store.get(doc.storage_key)
    except FileNotFoundError:
        data = None
    found = hashlib.sha256(data).hexdigest() if data is not None else None
    if found != doc.sha256:
        error = DocumentTampered("The stored file %(name)s does not match what was attached (SHA-256 differs or the "
                                 "file is gone); it is not served. Tell compliance.", name=doc.filename)
        error.audit_fields = _refusal(username, loan, doc, "DOCUMENT_INTEGRITY", str(error),
                                      {"found_sha256": found, "size_found": len(data) if data is not None else None})
        raise error
    process_id = session.scalar(select(ProcessVersion.process_id).join(
        ProcessInstance, ProcessInstance.process_version_id == ProcessVersion.id)
        .where(ProcessInstance.id == doc.instance_id)) if doc.instance_id else None
    return _view(doc, loan.reference, process_id), data


def _refusal(username: str, loan: Loan, doc: Document, rule: str, reason: str, extra: dict | None = None) -> dict:
    return dict(actor=username, loan_ref=loan.reference, step=doc.step, step_name=doc.step_name, rule=rule,
                reason=reason, detail={"attempted": "download_document", "document_id": doc.id, "name": doc.filename,
                                       "sha256": doc.sha256, **(extra or {})})
