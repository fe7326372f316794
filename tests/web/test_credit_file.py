"""The credit file: the loan list (search, sort, branch scope), the record of decisions and comments, inbox search."""
from __future__ import annotations

import re

import pytest

from engine.errors import NotAllowed

from .webtest_helpers import PASSWORD, Loans


def references(page_text: str) -> list[str]:
    return re.findall(r'class="mono">(L-\d{4}-\d{6})</a></td>', page_text)


@pytest.fixture
def three_loans(engine):
    loans = Loans(engine)
    loans.other_branch_staff()
    small = loans.start(borrower="Hengda Precision Machining Co., Ltd.", amount=800_000)
    big = loans.start(borrower="Beijing Boyuan Technology Co., Ltd.", amount=2_600_000)
    shanghai = loans.start("cm_sh", borrower="Shanghai Harbour Logistics Co., Ltd.", amount=1_000_000)
    return small, big, shanghai


def test_loan_list_shows_only_the_branches_a_person_may_open(client, auth, three_loans):
    small, big, shanghai = three_loans
    auth.login("rev_chen")  # Beijing reviewer
    page = client.get("/loans/")
    assert page.status_code == 200
    assert set(references(page.text)) == {small, big}
    auth.logout()
    auth.login("rev_sh", PASSWORD)
    assert references(client.get("/loans/").text) == [shanghai]
    auth.logout()
    auth.login("auditor_xie")  # bank-wide
    assert set(references(client.get("/loans/").text)) == {small, big, shanghai}


def test_search_by_borrower_reference_amount_and_sort(client, auth, three_loans):
    small, big, _shanghai = three_loans
    auth.login("cm_wang")
    assert references(client.get("/loans/?q=boyuan").text) == [big]
    assert references(client.get(f"/loans/?q={small[-4:]}").text) == [small]
    assert references(client.get("/loans/?min=1,000,000").text) == [big]
    assert references(client.get("/loans/?max=1000000.00&stage=investigation").text) == [small]
    assert references(client.get("/loans/?sort=amount_desc").text) == [big, small]
    assert references(client.get("/loans/?sort=amount_asc").text) == [small, big]
    assert references(client.get("/loans/?status=rejected").text) == []
    assert "No loan you may open matches this search." in client.get("/loans/?status=rejected").text


@pytest.mark.parametrize("query, named", [("min=1e7", "min"), ("max=-5", "max"), ("min=1.234", "min"),
                                          ("stage=nowhere", "stage"), ("min=9&max=1", "smallest amount")])
def test_a_search_that_cannot_be_understood_says_why(client, auth, three_loans, query, named):
    auth.login("cm_wang")
    page = client.get(f"/loans/?{query}")
    assert page.status_code == 400
    alert = re.search(r'<div class="alert alert-error" role="alert">(.*?)</div>', page.text, re.S)
    assert alert and named in alert.group(1)
    assert references(page.text) == []


def test_api_searches_loans_within_scope(client, engine, three_loans):
    small, big, shanghai = three_loans
    token = engine.issue_token("rev_chen")
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/loans?sort=amount_desc", headers=headers).get_json()
    assert [row["reference"] for row in body["loans"]] == [big, small] and body["total"] == 2
    assert body["loans"][0]["amount"] == "2600000.00" and body["loans"][0]["stage"] == "investigation"
    refused = client.get("/api/v1/loans?min=abc", headers=headers)
    assert refused.status_code == 400 and "min" in refused.get_json()["message"]


def test_inbox_search_and_sort(client, auth, three_loans):
    small, big, _shanghai = three_loans
    auth.login("cm_wang")
    page = client.get("/?kind=mine&q=hengda")
    assert small in page.text and big not in page.text
    ordered = client.get("/?kind=mine&sort=amount").text
    assert ordered.index(big) < ordered.index(small)
    ordered = client.get("/?kind=mine&sort=oldest").text
    assert ordered.index(small) < ordered.index(big)


def test_each_decision_stays_on_the_file_with_its_author(client, auth, engine):
    loans = Loans(engine)
    ref = loans.start()
    loans.do(ref, "investigate", "cm_wang")
    loans.do(ref, "review", "rev_chen", opinion="Collateral cover is thin.", decision="pass")
    loans.do(ref, "sign_business", "cm_wang", decision="approve", conditions="Quarterly statements.",
             reason="Long relationship.")
    loans.do(ref, "sign_risk", "risk_liu", decision="approve", conditions="", reason="Within my limit.")
    auth.login("rev_zhou")
    page = client.get(f"/loans/{ref}").text
    record = page[page.index('id="file-record"'):]
    entries = re.findall(r'<li class="record-entry record-(\w+)" data-action', record)
    assert entries.count("task_completed") == 4 and "loan_approved" in entries
    # the reviewer's decision and both signers' reasons are each kept, with who gave them
    assert "Collateral cover is thin." in record and "Long relationship." in record and "Within my limit." in record
    assert "陈审查" in record and "刘风险经理" in record
    assert "Quarterly statements." in record
    assert "recommendation" not in record and ">proceed<" not in record  # titles and enum words, not raw keys


def test_a_comment_is_kept_and_a_refused_one_keeps_what_was_typed(client, auth, engine):
    ref = Loans(engine).start()
    auth.login("rev_chen")
    done = auth.post(f"/loans/{ref}/comments", {"comment": "  Ask for the 2025 audited statements.  "})
    assert done.status_code == 302
    page = client.get(f"/loans/{ref}").text
    assert "Ask for the 2025 audited statements." in page and "陈审查" in page
    long_text = "x" * 2001
    refused = auth.post(f"/loans/{ref}/comments", {"comment": long_text})
    assert refused.status_code == 400 and "2000" in refused.text and long_text in refused.text
    comments = [e for e in engine.file_record(ref) if e.action == "comment_added"]
    assert [(c.actor, c.reason) for c in comments] == [("rev_chen", "Ask for the 2025 audited statements.")]


def test_a_comment_on_another_branch_is_refused_by_the_engine(engine):
    loans = Loans(engine)
    loans.other_branch_staff()
    ref = loans.start()
    with pytest.raises(NotAllowed, match="BJ01"):
        engine.add_comment("cm_sh", ref, "Looks fine to me.", source="cli")
    assert [e for e in engine.file_record(ref) if e.action == "comment_added"] == []


def test_a_loan_that_ended_says_so_and_by_whose_decision(client, auth, engine):
    loans = Loans(engine)
    ref = loans.start()
    loans.do(ref, "investigate", "cm_wang")
    loans.do(ref, "review", "rev_chen", opinion="Debt service not covered.", decision="reject")
    auth.login("cm_wang")
    page = client.get(f"/loans/{ref}", headers={"Accept-Language": "en"}).text
    banner = re.search(r'<div class="alert alert-error loan-ended" role="status">(.*?)</div>', page, re.S)
    assert banner and "This loan was rejected." in banner.group(1) and "陈审查" in banner.group(1)


def test_the_auditor_reads_the_file_but_does_not_write_on_it(client, auth, engine):
    ref = Loans(engine).start()
    auth.login("auditor_xie")
    page = client.get(f"/loans/{ref}")
    assert page.status_code == 200 and 'name="comment"' not in page.text
    assert auth.post(f"/loans/{ref}/comments", {"comment": "Noted."}).status_code == 403
    assert [e for e in engine.file_record(ref) if e.action == "comment_added"] == []
