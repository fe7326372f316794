"""The credit file in a real browser: the loan list search, the record of decisions, diagram zoom, a phone inbox."""
from __future__ import annotations

import re

import pytest

from .test_credit_flow import sign_in

pytestmark = pytest.mark.browser


def test_find_a_loan_read_its_record_and_zoom_its_diagram(zh_page, loans, shoot):
    first = loans.start("cm_wang", borrower="北京瑞丰农业发展有限公司", amount=900_000)
    loans.start("cm_wang", borrower="Beijing Hengda Machinery Co., Ltd.", amount=2_000_000)
    loans.do(first, "investigate", "cm_wang")
    loans.do(first, "review", "rev_chen", opinion="担保覆盖不足，需追加保证人。", decision="pass")
    page = zh_page
    sign_in(page, "rev_zhou")
    page.click("nav.mainnav >> text=信贷档案")
    page.wait_for_url("**/loans/")
    assert page.locator("table.loan-list tbody tr").count() == 2
    page.fill("input[name=q]", "瑞丰")
    page.click("form.filters button[type=submit]")
    assert page.locator("table.loan-list tbody tr").count() == 1
    shoot(page, "20-loan-search-zh")
    page.click(f"text={first}")
    page.wait_for_url(re.compile(rf".*/loans/{first}$"))
    page.wait_for_selector("[data-diagram][data-ready=yes]")
    record = page.inner_text("#file-record")
    assert "担保覆盖不足，需追加保证人。" in record and "陈审查" in record
    page.fill("#comment", "请补充2025年审计报告。")
    page.click("#file-record button[type=submit]")
    assert "请补充2025年审计报告。" in page.inner_text("#file-record")
    viewer = page.locator("[data-diagram]").first
    before = viewer.locator("svg .viewport").first.get_attribute("transform")
    viewer.locator("button[aria-label=放大]").click()
    after = viewer.locator("svg .viewport").first.get_attribute("transform")
    assert before != after
    viewer.locator("button[aria-label=适应窗口]").click()
    shoot(page, "21-loan-record-zh")


def test_inbox_on_a_phone_is_a_list_of_cards(chromium, live_server, loans, shoot):
    for amount in (900_000, 1_200_000, 2_500_000):
        loans.start("cm_wang", amount=amount)
    context = chromium.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844},
                                   is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, "cm_wang")
        assert page.locator("table.inbox-table tbody tr").count() == 3
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px screen"
        for button in page.locator("table.inbox-table a.button-primary").all():
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        shoot(page, "22-inbox-phone-zh")
    finally:
        context.close()
