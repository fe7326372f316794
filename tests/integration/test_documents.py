"""Documents on a loan's file: a task's checklist blocks its completion, every file's SHA-256 is recorded and checked
again when it is read, and only accepted types and sizes are stored."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.commands.documents import MissingDocuments
from engine.errors import InvalidInput, NotAllowed
from engine.queries.documents import DocumentTampered
from engine.simulation.documents import sample_pdf
from engine.store.models import AuditEvent, Document
from tests.integration.conftest import FORMS
from tests.integration.test_atomicity import snapshot

PDF = sample_pdf("Balance sheet 2025")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def events(engine, action):
    with engine.db.reading() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        s.expunge_all()
        return rows


def test_a_required_document_missing_refuses_the_completion_and_changes_nothing(engine, driver):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    engine.attach_document("cm_wang", "financial_statements", "资产负债表2025.pdf", PDF, item_id=item.id, source="cli")
    before = snapshot(engine, ref)
    with pytest.raises(MissingDocuments) as refused:
        engine.complete("cm_wang", item.id, FORMS["investigate"], source="cli")
    assert "Site-visit record or photos" in str(refused.value)
    assert "Financial statements" not in str(refused.value)  # that one is attached
    assert refused.value.params["documents_zh"] == "现场调查记录或照片"
    assert snapshot(engine, ref) == before


def test_attach_then_complete_goes_on_and_the_checklist_says_what_is_there(engine, driver):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    entries, _attached = engine.checklist(item.id)
    assert [(e.kind, e.required, e.present) for e in entries] == [("financial_statements", True, False),
                                                                  ("site_visit", True, False)]
    engine.attach_document("cm_wang", "financial_statements", "fs.pdf", PDF, item_id=item.id, source="cli")
    engine.attach_document("cm_wang", "site_visit", "site.png", PNG, item_id=item.id, source="cli")
    entries, attached = engine.checklist(item.id)
    assert all(e.present for e in entries) and [d.filename for d in attached] == ["fs.pdf", "site.png"]
    engine.complete("cm_wang", item.id, FORMS["investigate"], source="cli")
    assert driver.open_steps(ref) == ["review"]
    assert [(d.kind, d.step) for d in engine.documents(ref)] == [("financial_statements", "investigate"),
                                                                 ("site_visit", "investigate")]


def test_the_sha256_is_recorded_and_audited_with_name_kind_size_and_task(engine, driver):
    import hashlib

    ref = driver.start()
    item = driver.item(ref, "investigate")
    doc_id = engine.attach_document("cm_wang", "financial_statements", "fs.pdf", PDF, item_id=item.id, source="cli")
    digest = hashlib.sha256(PDF).hexdigest()
    (view,) = engine.documents(ref)
    assert view.id == doc_id and view.sha256 == digest and view.size == len(PDF) and view.uploaded_by == "cm_wang"
    (event,) = events(engine, "document_attached")
    assert event.loan_ref == ref and event.actor == "cm_wang" and event.step == "investigate"
    assert {k: event.detail[k] for k in ("name", "kind", "size", "sha256")} == {
        "name": "fs.pdf", "kind": "financial_statements", "size": len(PDF), "sha256": digest}
    assert event.detail["work_item"] == item.id
    assert engine.document_file("cm_wang", doc_id) == (view, PDF)


def test_a_file_swapped_on_disk_is_refused_on_download_and_the_refusal_audited(engine, driver):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    doc_id = engine.attach_document("cm_wang", "financial_statements", "fs.pdf", PDF, item_id=item.id, source="cli")
    stored = Path(engine.settings.documents_path) / engine.documents(ref)[0].sha256[:2]
    (path,) = [p for p in stored.rglob("*") if p.is_file()]
    path.write_bytes(PDF.replace(b"Balance sheet", b"Forged sheet!"))
    with pytest.raises(DocumentTampered, match="does not match"):
        engine.document_file("rev_chen", doc_id)
    (refusal,) = [e for e in events(engine, "refused") if e.rule == "DOCUMENT_INTEGRITY"]
    assert refusal.actor == "rev_chen" and refusal.loan_ref == ref and refusal.outcome == "denied"
    path.unlink()  # gone altogether: refused as well
    with pytest.raises(DocumentTampered):
        engine.document_file("rev_chen", doc_id)


def test_a_file_over_the_cap_or_empty_is_refused_and_nothing_is_stored(engine, driver):
    engine.settings = engine.settings.merged(document_max_bytes=1000)
    ref = driver.start()
    item = driver.item(ref, "investigate")
    with pytest.raises(InvalidInput, match=r"The file is 1\.2 KB; the largest accepted is 1000 B"):
        engine.attach_document("cm_wang", "financial_statements", "big.pdf", b"%PDF-" + b"x" * 1200, item_id=item.id)
    with pytest.raises(InvalidInput, match="The file is empty"):
        engine.attach_document("cm_wang", "financial_statements", "empty.pdf", b"", item_id=item.id)
    assert engine.documents(ref) == [] and events(engine, "document_attached") == []
    assert [p for p in Path(engine.settings.documents_path).rglob("*") if p.is_file()] == []


def _docx(main: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(main, "<xml/>")
    return out.getvalue()


@pytest.mark.parametrize("name, data, accepted", [
    ("statement.pdf", PDF, True),
    ("photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 32, True),
    ("photo.png", PNG, True),
    ("report.docx", _docx("word/document.xml"), True),
    ("figures.xlsx", _docx("xl/workbook.xml"), True),
    ("figures.csv", "科目,金额\n营业收入,1000\n".encode("gb18030"), True),
    ("statement.pdf", b"MZ\x90\x00 an executable in disguise", False),  # the extension lies
    ("photo.png", PDF, False),
    ("report.docx", _docx("xl/workbook.xml"), False),
    ("setup.exe", b"MZ\x90\x00", False),
    ("macro.docm", _docx("word/document.xml"), False),
    ("noextension", PDF, False),
])
def test_only_whitelisted_types_whose_leading_bytes_agree_are_accepted(engine, driver, name, data, accepted):
    ref = driver.start()
    if accepted:
        engine.attach_document("cm_wang", "other", name, data, loan_ref=ref)
        assert [d.filename for d in engine.documents(ref)] == [name]
        return
    with pytest.raises(InvalidInput) as refused:
        engine.attach_document("cm_wang", "other", name, data, loan_ref=ref)
    assert "allowed: PDF, PNG, JPEG, DOCX, XLSX, TXT, CSV" in str(refused.value)
    assert engine.documents(ref) == []


def test_a_user_who_may_not_read_the_loan_cannot_download_and_is_recorded(engine, driver):
    engine.add_user("cm_sh", "pw-sh-123456", "Shanghai CM")
    engine.grant_role("cm_sh", "customer_manager", "SH01")
    ref = driver.start()
    doc_id = engine.attach_document("cm_wang", "financial_statements", "fs.pdf", PDF, loan_ref=ref, source="cli")
    with pytest.raises(NotAllowed, match="may not open the documents"):
        engine.document_file("cm_sh", doc_id)
    assert [e.actor for e in events(engine, "refused") if e.rule == "BRANCH"] == ["cm_sh"]
    assert engine.document_file("rev_chen", doc_id)[1] == PDF  # the branch's reviewer reads the file


def test_who_may_attach_on_a_task_and_on_the_loan(engine, driver):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    with pytest.raises(NotAllowed):  # the reviewer may not work the investigation
        engine.attach_document("rev_chen", "financial_statements", "fs.pdf", PDF, item_id=item.id)
    with pytest.raises(NotAllowed, match="originator or someone who may work"):
        engine.attach_document("acct_ma", "other", "fs.pdf", PDF, loan_ref=ref)
    engine.attach_document("cm_wang", "other", "note.txt", "现场照片见附件".encode(), loan_ref=ref)  # the originator
    with pytest.raises(InvalidInput, match="what kind of document"):
        engine.attach_document("cm_wang", "<script>", "fs.pdf", PDF, loan_ref=ref)
    with engine.db.reading() as s:
        assert s.scalar(select(Document.work_item_id)) is None


def test_a_malformed_checklist_deploys_nothing(engine, tmp_path):
    import json
    import shutil

    from engine.bootstrap import BUNDLED_BPMN
    from engine.runtime.validation import DeploymentRejected

    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    form = redesign / "forms" / "investigate.schema.json"
    schema = json.loads(form.read_text())
    schema["x-documents"] = [{"kind": "Financial Statements!", "title": "FS", "required": "yes"},
                             {"kind": "site_visit"}]
    form.write_text(json.dumps(schema))
    with pytest.raises(DeploymentRejected) as rejected:
        engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")
    text = str(rejected.value)
    assert "origination.bpmn" in text and "element 'investigate'" in text and "investigate.schema.json" in text
    assert "x-documents[0]: kind 'Financial Statements!'" in text and "required must be true or false" in text
    assert "x-documents[1]: give a title" in text
    assert [v for p, v, _at in engine.deployed() if p == "origination"] == [1]
