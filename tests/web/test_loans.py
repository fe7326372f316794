"""Starting a loan, and the loan's file: instances, the diagram with the path taken, history, branch access."""
from __future__ import annotations

import html
import json
import re

from .webtest_helpers import PASSWORD

APPLICATION = {"borrower": "Beijing Boyuan Technology Co., Ltd.", "product": "working_capital", "amount": "1,200,000",
               "term_months": "12", "rating": "good", "loan_type": "new", "small_enterprise": "on"}


def diagram_data(page_html: str, attribute: str) -> list[str]:
    match = re.search(r'%s="([^"]*)"' % attribute, page_html)
    assert match, attribute
    return json.loads(html.unescape(match.group(1)))


def test_customer_manager_starts_a_loan_from_the_form(client, auth, engine):
    auth.login("cm_wang")
    form = client.get("/loans/new")
    assert form.status_code == 200
    assert 'name="borrower"' in form.text and "Working capital loan" in form.text
    assert 'name="branch"' not in form.text  # one branch: not asked
    response = auth.post("/loans/new", APPLICATION)
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[1]
    loan = engine.loan(reference)
    assert loan.borrower == APPLICATION["borrower"] and str(loan.amount) == "1200000.00" and loan.branch == "BJ01"
    assert loan.application["small_enterprise"] is True
    page = client.get(response.headers["Location"])
    assert "started" in page.text and "Investigate borrower" in page.text


def test_bad_application_shows_errors_next_to_fields(client, auth, engine):
    auth.login("cm_wang")
    response = auth.post("/loans/new", {**APPLICATION, "amount": "a lot", "borrower": "", "term_months": "999"})
    assert response.status_code == 400
    text = response.text
    assert re.search(r'data-field="amount">.*?Must be a number\.', text, re.S)
    assert re.search(r'data-field="borrower">.*?This field is required\.', text, re.S)
    assert re.search(r'data-field="term_months">.*?Must be at most 360\.', text, re.S)
    assert "no loan was created" in text
    assert engine.usernames() and not engine.inbox("cm_wang")[1]


def test_only_customer_managers_start_loans(client, auth):
    auth.login("rev_chen")
    assert client.get("/loans/new").status_code == 403
    assert auth.post("/loans/new", APPLICATION).status_code == 403
    assert "New loan" not in client.get("/").text


def test_loan_page_shows_instances_diagram_path_and_history(client, auth, loans):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    auth.login("rev_chen")
    page = client.get(f"/loans/{ref}")
    assert page.status_code == 200
    assert "Credit origination" in page.text or "origination" in page.text
    done = diagram_data(page.text, "data-done")
    current = diagram_data(page.text, "data-current")
    flows = diagram_data(page.text, "data-flows")
    assert "application_received" in done and "investigate" in done
    assert current == ["review"]
    assert any(f.endswith(">investigate") for f in flows) and any(f.endswith(">review") for f in flows)
    assert "investigated" in page.text and "cm_wang" in page.text
    src = re.search(r'data-src="([^"]+)"', page.text).group(1)
    xml = client.get(src)
    assert xml.status_code == 200 and xml.mimetype == "text/plain"  # data for the viewer, never a page
    assert b'id="investigate"' in xml.data and b"bpmndi:BPMNDiagram" in xml.data


def test_loan_page_is_closed_to_other_branches(client, auth, loans):
    loans.other_branch_staff()
    ref = loans.start("cm_wang")
    instance = loans.engine.loan(ref).instances[0].id
    auth.login("cm_sh")
    assert client.get(f"/loans/{ref}").status_code == 403
    assert client.get(f"/loans/{ref}/instances/{instance}/diagram.bpmn").status_code == 403


def test_unknown_loan_and_instance_are_404(client, auth, loans):
    ref = loans.start("cm_wang")
    auth.login("cm_wang")
    assert client.get("/loans/L-1999-000001").status_code == 404
    assert client.get(f"/loans/{ref}/instances/99999/diagram.bpmn").status_code == 404


def test_an_expired_grant_opens_no_loan_file(client, auth, loans, engine):
    from datetime import date
    ref = loans.start()
    existing = set(engine.usernames())
    if "cm_former" not in existing:  # PostgreSQL keeps the staff between tests
        engine.add_user("cm_former", PASSWORD, "former manager")
        engine.grant_role("cm_former", "customer_manager", "BJ01", valid_from=date(2020, 1, 1),
                          valid_to=date(2020, 12, 31))
    auth.login("cm_former")
    assert client.get(f"/loans/{ref}").status_code == 403
    assert client.get("/loans/new").status_code == 403
