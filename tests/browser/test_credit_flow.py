"""A loan through investigation, review and dual-signature approval in a real browser, with screenshots."""
from __future__ import annotations

import re

import pytest

from engine.simulation.documents import sample_pdf

from ..web.webtest_helpers import PASSWORD

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU"
       b"\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82")

pytestmark = pytest.mark.browser


def sign_in(page, username: str) -> None:
    page.goto("/auth/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click(".signin button[type=submit]")
    page.wait_for_url("**/")


def sign_out(page) -> None:
    page.click("text=Sign out")
    page.wait_for_url("**/auth/login")


def open_task(page, name: str, tab: str) -> int:
    page.goto(f"/?kind={tab}")
    link = page.locator("a.task-link", has_text=name).first
    link.click()
    page.wait_for_url(re.compile(r".*/tasks/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_loan_from_application_to_risk_signature(page, loans, shoot):
    # The customer manager starts a loan from the form.
    sign_in(page, "cm_wang")
    shoot(page, "01-inbox-empty")
    page.click("text=New loan")
    page.fill("#f-borrower", "Beijing Hengda Machinery Co., Ltd.")
    page.select_option("#f-product", "working_capital")
    page.fill("#f-amount", "1,500,000")
    page.fill("#f-term_months", "12")
    page.check("#f-small_enterprise")
    shoot(page, "02-new-loan-form")
    page.click("text=Start origination")
    page.wait_for_url(re.compile(r".*/loans/L-\d{4}-\d{6}$"))
    reference = page.url.rsplit("/", 1)[1]
    assert "started" in page.inner_text(".flash")

    # ... finds the investigation in "My tasks" (count in the navigation) and completes it.
    page.goto("/")
    assert page.inner_text("[data-count=mine]").strip() == "1"
    shoot(page, "03-inbox-my-tasks")
    open_task(page, "Investigate borrower", "mine")
    page.click("text=Complete task")  # empty: the errors appear next to the fields
    assert page.locator(".field.has-error").count() >= 2
    shoot(page, "04-task-form-errors")
    page.fill("#f-findings", "Sales up 12% year on year; debt service coverage 1.8x.")
    page.fill("#f-repayment_source", "Operating cash flow from machinery sales")
    page.select_option("#f-recommendation", "proceed")
    page.click("text=Save draft")  # kept as typed while the documents are gathered
    assert "Draft saved" in page.inner_text(".flash")
    assert page.locator(".doc-checklist .is-missing").count() == 2
    # The checklist asks for the financial statements and the site-visit record: both are attached here.
    for kind, name, mime, data in (("financial_statements", "财务报表2025.pdf", "application/pdf",
                                    sample_pdf("Financial statements 2025")),
                                   ("site_visit", "site-visit.png", "image/png", PNG)):
        upload = page.locator("form.upload-form")
        upload.locator("select[name=kind]").select_option(kind)
        upload.locator("input[type=file]").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])
        with page.expect_navigation():
            upload.locator("button").click()
        assert page.url.endswith("#documents")
        assert "attached" in page.inner_text(".flash")
    assert page.locator(".doc-checklist .is-missing").count() == 0
    assert page.input_value("#f-findings") == "Sales up 12% year on year; debt service coverage 1.8x."  # the draft
    shoot(page, "04b-task-documents-and-draft")
    page.click("text=Complete task")
    page.wait_for_url("**/")
    assert "Done: Investigate borrower" in page.inner_text(".flash")
    sign_out(page)

    # The reviewer takes the review from "Available to me", claims it and completes it.
    sign_in(page, "rev_chen")
    page.goto("/?kind=available")
    shoot(page, "05-reviewer-available")
    open_task(page, "Review credit file", "available")
    page.click("button:has-text('Claim')")
    assert "claimed" in page.inner_text(".flash")
    shoot(page, "06-review-task")
    for field in page.locator(".task-form textarea").all():
        field.fill("File complete; repayment capacity adequate.")
    decision = page.locator("#f-decision")
    decision.select_option("pass")
    page.click("text=Complete task")
    page.wait_for_url("**/")
    sign_out(page)

    # The originator signs the business signature (engine API). Even holding a risk grant, the investigator is
    # not offered the risk signature, and is refused when posting it directly (SOD-01).
    loans.do(reference, "sign_business", "cm_wang")
    loans.engine.grant_role("cm_wang", "risk_manager", "BJ01", limit=5_000_000)
    sign_risk = loans.item(reference, "sign_risk")
    sign_in(page, "cm_wang")
    page.goto("/?kind=available")
    assert page.locator(f"[data-task-id='{sign_risk.id}']").count() == 0
    response = page.goto(f"/tasks/{sign_risk.id}")
    assert response.status == 403
    assert "must be different people" in page.inner_text(".error-message")
    shoot(page, "07-refusal-page")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    posted = page.request.post(f"/tasks/{sign_risk.id}/complete", form={
        "csrf_token": token, "decision": "approve", "conditions": "", "reason": "My own loan."},
        headers={"Accept-Language": "en"})
    assert posted.status == 403 and "must be different people" in posted.text()
    sign_out(page)

    # The risk manager signs in the browser.
    sign_in(page, "risk_liu")
    open_task(page, "Sign approval (risk)", "available")
    page.select_option("#f-decision", "approve")
    page.fill("#f-reason", "Within my limit; cash flow adequate.")
    shoot(page, "08-risk-signature")
    page.click("text=Complete task")
    page.wait_for_url("**/")

    # The loan page shows the diagram with done steps, the current step and the path taken.
    page.goto(f"/loans/{reference}")
    page.wait_for_selector("[data-diagram][data-ready=yes]")
    assert page.locator(".djs-element.cf-done").count() >= 5
    assert page.locator(".djs-element.cf-current").count() >= 1
    assert page.locator(".djs-connection.cf-taken").count() >= 5
    for step in ("investigate", "review", "sign_business", "sign_risk"):
        assert "cf-done" in (page.locator(f"[data-element-id='{step}']").first.get_attribute("class") or ""), step
    labels = page.inner_text("[data-diagram]")  # the English names from the catalog beside the Chinese BPMN
    assert "Investigate borrower" in labels and "Customer manager" in labels and "调查借款人" not in labels
    shoot(page, "09-loan-page-diagram")


def test_pages_in_chinese_with_overdue_work(chromium, live_server, live_app, loans, shoot):
    reference = loans.start("cm_wang")
    loans.start("cm_wang", borrower="北京瑞丰农业发展有限公司", amount=900_000)
    live_app.extensions["creditflow"].clock.advance(days=5)  # both investigations are now overdue
    context = chromium.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto("/auth/login")
        assert "登录" in page.inner_text("h1")
        shoot(page, "10-login-zh")
        page.fill("#username", "cm_wang")
        page.fill("#password", "wrong-password")
        page.click(".signin button[type=submit]")
        assert "用户名或密码错误" in page.inner_text(".flash")
        page.fill("#username", "cm_wang")
        page.fill("#password", PASSWORD)
        page.click(".signin button[type=submit]")
        page.wait_for_url("**/")
        assert "我的任务" in page.inner_text("h1")
        assert page.locator("tr.row-overdue").count() == 2 and "已逾期" in page.inner_text("table")
        shoot(page, "11-inbox-zh-overdue")
        open_task(page, "调查借款人", "mine")
        assert "调查结论" in page.content()
        shoot(page, "12-task-zh")
        page.goto(f"/loans/{reference}")
        page.wait_for_selector("[data-diagram][data-ready=yes]")
        labels = page.inner_text("[data-diagram]")
        assert "调查借款人" in labels and "客户经理" in labels and "Investigate borrower" not in labels
        shoot(page, "13-loan-zh")
    finally:
        context.close()
