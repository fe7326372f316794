"""Documents from the task page and the loan page: the checklist, uploads, refusals in both languages, downloads."""
from __future__ import annotations

import hashlib
from io import BytesIO

from engine.simulation.documents import sample_pdf

PDF = sample_pdf("Balance sheet 2025")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ZH = {"Accept-Language": "zh-CN"}


def upload(auth, path, kind, name, data, **kwargs):
    return auth.post(path, {"kind": kind, "file": (BytesIO(data), name)}, content_type="multipart/form-data", **kwargs)


def test_the_task_page_shows_the_checklist_and_takes_uploads(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    page = client.get(f"/tasks/{item.id}").text
    assert 'data-kind="financial_statements"' in page and "Missing (required)" in page
    assert page.count("is-missing") == 2 and 'enctype="multipart/form-data"' in page
    response = upload(auth, f"/tasks/{item.id}/documents", "financial_statements", "资产负债表.pdf", PDF)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/tasks/{item.id}#documents")
    page = client.get(f"/tasks/{item.id}").text
    assert "Document 资产负债表.pdf attached." in page and "资产负债表.pdf" in page
    assert page.count("is-missing") == 1 and page.count("is-present") == 1
    assert hashlib.sha256(PDF).hexdigest()[:12] in page and "cm_wang" in page
    upload(auth, f"/tasks/{item.id}/documents", "site_visit", "site.png", PNG)
    done = auth.post(f"/tasks/{item.id}/complete", {"findings": "Sound.", "repayment_source": "Operations",
                                                    "recommendation": "proceed"})
    assert done.status_code == 302 and engine.loan(ref).stage == "review"
    auth.logout()
    auth.login("rev_chen")  # the reviewer reads the investigation's files from the review task
    review = client.get(f"/tasks/{loans.item(ref, 'review').id}").text
    assert "Other documents on the loan's file" in review and "资产负债表.pdf" in review
    loan_page = client.get(f"/loans/{ref}").text
    assert 'id="documents"' in loan_page and "资产负债表.pdf" in loan_page and "site.png" in loan_page
    assert "Investigate borrower" in loan_page  # the task each file was attached on


def test_completing_without_the_required_documents_says_which_in_english_and_chinese(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    form = {"findings": "Typed with care.", "repayment_source": "Operations", "recommendation": "proceed"}
    refused = auth.post(f"/tasks/{item.id}/complete", form)
    assert refused.status_code == 400
    assert "Attach the required document(s) before completing this task: Financial statements, Site-visit record " \
           "or photos." in refused.text
    assert "Typed with care." in refused.text  # nothing typed is lost
    refused = auth.post(f"/tasks/{item.id}/complete", form, headers=ZH)
    assert "请先上传本任务必需的文件：财务报表、现场调查记录或照片。" in refused.text
    assert engine.loan(ref).stage == "investigation" and loans.item(ref, "investigate").id == item.id


def test_a_refused_upload_says_why_in_both_languages_and_stores_nothing(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    upload(auth, f"/tasks/{item.id}/documents", "financial_statements", "statement.pdf", b"MZ\x90\x00 not a pdf")
    page = client.get(f"/tasks/{item.id}").text
    assert "The file&#39;s content is not a PDF file; allowed: PDF, PNG, JPEG, DOCX, XLSX, TXT, CSV." in page
    upload(auth, f"/tasks/{item.id}/documents", "financial_statements", "setup.exe", b"MZ\x90\x00", headers=ZH)
    page = client.get(f"/tasks/{item.id}", headers=ZH).text
    assert "不接受此类型的文件；允许的类型：PDF, PNG, JPEG, DOCX, XLSX, TXT, CSV。" in page
    engine.settings = engine.settings.merged(document_max_bytes=1000)
    upload(auth, f"/tasks/{item.id}/documents", "financial_statements", "big.pdf", PDF + b"%" * 1000)
    assert "the largest accepted is 1000 B" in client.get(f"/tasks/{item.id}").text
    upload(auth, f"/tasks/{item.id}/documents", "financial_statements", "empty.pdf", b"")
    assert "The file is empty" in client.get(f"/tasks/{item.id}").text
    assert engine.documents(ref) == []


def test_a_file_far_over_the_cap_is_stopped_at_the_door_with_the_cap_named(client, auth, loans, engine):
    engine.settings = engine.settings.merged(document_max_bytes=1000)
    ref = loans.start("cm_wang")
    auth.login("cm_wang")
    response = upload(auth, f"/loans/{ref}/documents", "other", "huge.pdf", PDF + b"%" * (200 * 1024))
    assert response.status_code == 303
    assert "The file is larger than 1000 B, the largest accepted." in client.get(f"/loans/{ref}").text
    assert engine.documents(ref) == []


def test_download_is_an_attachment_of_its_type_for_readers_of_the_loan_only(client, auth, loans, engine):
    loans.other_branch_staff()
    ref = loans.start("cm_wang")
    auth.login("cm_wang")
    assert upload(auth, f"/loans/{ref}/documents", "other", "现场照片.png", PNG).status_code == 303
    (doc,) = engine.documents(ref)
    response = client.get(f"/documents/{doc.id}")
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%8E%B0" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    auth.logout()
    assert client.get(f"/documents/{doc.id}").status_code == 302  # to sign-in
    auth.login("cm_sh")  # Shanghai: may not open a Beijing loan, nor its files
    assert client.get(f"/loans/{ref}").status_code == 403
    assert client.get(f"/documents/{doc.id}").status_code == 403
    assert upload(auth, f"/loans/{ref}/documents", "other", "x.png", PNG).status_code == 403
    assert client.get("/documents/99999").status_code == 404


def test_a_swapped_file_is_refused_on_download(client, auth, loans, engine):
    from pathlib import Path

    ref = loans.start("cm_wang")
    auth.login("cm_wang")
    upload(auth, f"/loans/{ref}/documents", "other", "contract.pdf", PDF)
    (doc,) = engine.documents(ref)
    (path,) = [p for p in Path(engine.settings.documents_path).rglob("*") if p.name == doc.sha256]
    path.write_bytes(PDF.replace(b"2025", b"2026"))
    response = client.get(f"/documents/{doc.id}")
    assert response.status_code == 422 and "does not match what was attached" in response.text
    assert "Content-Disposition" not in response.headers


def test_uploads_need_the_csrf_token(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    auth.login("cm_wang")
    response = client.post(f"/loans/{ref}/documents", data={"kind": "other", "file": (BytesIO(PDF), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and engine.documents(ref) == []


def test_the_api_attaches_on_a_task_lists_and_downloads(client, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    cm = {"Authorization": f"Bearer {engine.issue_token('cm_wang')}", "Accept-Language": "en"}
    created = client.post(f"/api/v1/loans/{ref}/documents", headers=cm, content_type="multipart/form-data",
                          data={"kind": "financial_statements", "task": str(item.id), "file": (BytesIO(PDF), "fs.pdf")})
    assert created.status_code == 201, created.json
    assert created.json["sha256"] == hashlib.sha256(PDF).hexdigest() and created.json["task"] == item.id
    assert created.headers["Location"] == f"/api/v1/documents/{created.json['id']}"
    refused = client.post(f"/api/v1/loans/{ref}/documents", headers=cm, content_type="multipart/form-data",
                          data={"kind": "site_visit", "task": str(item.id), "file": (BytesIO(b"MZ"), "site.png")})
    assert refused.status_code == 400 and refused.json["code"] == "invalid_input"
    assert "allowed: PDF, PNG" in refused.json["message"]
    listed = client.get(f"/api/v1/loans/{ref}/documents", headers=cm).json
    assert [d["filename"] for d in listed["documents"]] == ["fs.pdf"]
    download = client.get(created.headers["Location"], headers=cm)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert client.get(created.headers["Location"]).status_code == 401
