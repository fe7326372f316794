"""A Chinese credit officer's day in a real browser: find the loan, keep the evidence on the file, save a draft,
complete, see the decision stay on the file, and the next person told; with screenshots."""
from __future__ import annotations

import re

import pytest

from engine.simulation.documents import sample_pdf

from .test_credit_flow import PNG, sign_in

pytestmark = pytest.mark.browser


def sign_out_zh(page) -> None:
    page.click("text=退出")
    page.wait_for_url("**/auth/login")


def test_a_day_in_chinese_from_search_to_the_next_persons_notification(zh_page, loans, shoot):
    reference = loans.start("cm_wang", borrower="北京瑞丰农业发展有限公司", amount=900_000)
    loans.start("cm_wang", borrower="天津海河精密机械有限公司", amount=2_000_000)
    page = zh_page
    # The customer manager finds the loan in the credit files by the borrower's name.
    sign_in(page, "cm_wang")
    page.goto("/loans/?q=瑞丰")
    assert page.locator("table.loan-list tbody tr").count() == 1
    page.click(f"text={reference}")
    page.wait_for_url(re.compile(rf".*/loans/{reference}$"))
    page.locator("a", has_text="调查借款人").first.click()
    page.wait_for_url(re.compile(r".*/tasks/\d+$"))
    task_url = page.url

    # The investigation asks for two documents; completing without them is refused and loses nothing.
    assert page.locator(".doc-checklist .is-missing").count() == 2
    page.fill("#f-findings", "销售收入同比增长12%，偿债覆盖率1.8倍。")
    page.fill("#f-repayment_source", "经营性现金流")
    page.select_option("#f-recommendation", "proceed")
    page.click("button:has-text('提交')")
    refusal = page.inner_text("main")
    assert "财务报表" in refusal and page.input_value("#f-findings").startswith("销售收入")
    shoot(page, "30-zh-documents-required")
    page.click("text=保存草稿")
    for kind, name, mime, data in (("financial_statements", "财务报表2025.pdf", "application/pdf",
                                    sample_pdf("2025")), ("site_visit", "现场照片.png", "image/png", PNG)):
        upload = page.locator("form.upload-form")
        upload.locator("select[name=kind]").select_option(kind)
        upload.locator("input[type=file]").set_input_files(files=[{"name": name, "mimeType": mime,
                                                                  "buffer": data}])
        with page.expect_navigation():
            upload.locator("button").click()
    assert page.locator(".doc-checklist .is-missing").count() == 0
    assert page.input_value("#f-findings").startswith("销售收入")  # the draft came back
    shoot(page, "31-zh-draft-and-documents")
    page.click("button:has-text('提交')")
    page.wait_for_url("**/")
    assert "审查授信材料" in page.inner_text(".flashes, main")  # where the loan is now, in words
    sign_out_zh(page)

    # The reviewer passes it; the decision is on the file with its author, in Chinese words.
    sign_in(page, "rev_chen")
    page.goto("/?kind=available&q=瑞丰")
    page.locator("a.task-link", has_text="审查授信材料").first.click()
    page.wait_for_url(re.compile(r".*/tasks/\d+$"))
    assert page.url != task_url
    page.fill("#f-opinion", "材料齐全，第一还款来源充足。")
    page.select_option("#f-decision", "pass")
    page.click("button:has-text('提交')")
    page.wait_for_url("**/")
    page.goto(f"/loans/{reference}")
    record = page.inner_text("#file-record")
    assert "审查授信材料" in record and "陈审查" in record and "提交审批" in record
    assert "pass" not in record and "Review" not in record
    shoot(page, "32-zh-decision-on-the-file")
    sign_out_zh(page)

    # The next person, named for the business signature, is told.
    sign_in(page, "cm_wang")
    assert page.inner_text("[data-count=notifications]").strip() != "0"
    page.goto("/notifications")
    assert "审批签字(业务)" in page.inner_text(".notification-list") and reference in page.inner_text(
        ".notification-list")
    shoot(page, "33-zh-notification")
