"""The task page: loan summary, form from the schema, server-side validation, refusals as sentences."""
from __future__ import annotations

import re


def field_block(html: str, name: str) -> str:
    match = re.search(r'<div class="field[^"]*" data-field="%s">(.*?)</div>\s*(?=<div class="field|<div class="form-actions)'
                      % re.escape(name), html, re.S)
    assert match, f"no field {name}"
    return match.group(0)


def test_task_page_shows_the_loan_the_instructions_and_the_form(client, auth, loans):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    page = client.get(f"/tasks/{item.id}")
    assert page.status_code == 200
    html = page.text
    assert "Investigate borrower" in html  # the BPMN's task name, as is
    assert "Hengda Precision Machining Co., Ltd." in html and "1,500,000.00" in html
    assert "Working capital loan" in html and "Investigation" in html
    assert "Investigate the borrower" in html  # instructions from the BPMN
    assert "Findings" in html and "Primary source of repayment" in html
    assert '<option value="proceed"' in html and "Proceed to review" in html
    assert "originated" in html  # who did what so far


def test_invalid_form_shows_errors_next_to_the_fields(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    response = auth.post(f"/tasks/{item.id}/complete", {"findings": "Looks fine.", "recommendation": "maybe"})
    assert response.status_code == 400
    assert "This field is required." in field_block(response.text, "repayment_source")
    assert "has-error" in field_block(response.text, "recommendation")
    assert "has-error" not in field_block(response.text, "findings")
    assert "Looks fine." in response.text  # what was typed is kept
    assert loans.item(ref, "investigate").id == item.id  # nothing moved


def test_completing_moves_the_loan_on(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.ready(ref, "investigate", "cm_wang")
    auth.login("cm_wang")
    response = auth.post(f"/tasks/{item.id}/complete", {
        "findings": "Cash flow covers debt service.", "repayment_source": "Operations", "recommendation": "proceed"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert engine.loan(ref).stage == "review"
    assert "Done: Investigate borrower" in client.get("/").text


def test_a_decision_that_sends_the_loan_back_says_where_it_is_now(client, auth, loans):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    review = loans.item(ref, "review")
    auth.login("rev_chen")
    auth.post(f"/tasks/{review.id}/complete", {"opinion": "Collateral valuation missing.",
                                                "decision": "return_for_supplement"},
              headers={"Accept-Language": "en"})
    flashes = client.get("/", headers={"Accept-Language": "en"}).text
    assert f"Now open on loan {ref}: Investigate borrower (Customer manager, cm_wang)." in flashes


def test_investigator_gets_a_plain_refusal_when_posting_the_approval(client, auth, loans):
    ref, person = loans.at_risk_signature()
    sign = loans.item(ref, "sign_risk")
    auth.login(person)
    for response in (client.get(f"/tasks/{sign.id}"),
                     auth.post(f"/tasks/{sign.id}/complete", {"decision": "approve", "conditions": "", "reason": "x"}),
                     auth.post(f"/tasks/{sign.id}/claim")):
        assert response.status_code == 403
        assert "must be different people" in response.text
        assert "Traceback" not in response.text
    assert loans.item(ref, "sign_risk").id == sign.id


def test_another_branch_cannot_open_or_complete_a_task_by_guessing_its_id(client, auth, loans):
    loans.other_branch_staff()
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    review = loans.item(ref, "review")
    auth.login("rev_sh")
    assert client.get(f"/tasks/{review.id}").status_code == 403
    assert auth.post(f"/tasks/{review.id}/claim").status_code == 403
    done = auth.post(f"/tasks/{review.id}/complete", {"opinion": "ok", "decision": "pass"})
    assert done.status_code == 403
    assert loans.item(ref, "review").claimed_by is None


def test_unknown_task_is_404(client, auth):
    auth.login("cm_wang")
    assert client.get("/tasks/999999").status_code == 404
    assert auth.post("/tasks/999999/complete", {}).status_code == 404
    assert client.get("/tasks/99999999999999").status_code == 404


def test_user_picker_lists_people_holding_the_role(client, auth, loans, engine):
    ref = loans.start("cm_wang", amount=12_000_000)
    loans.do(ref, "investigate", "cm_wang")
    loans.do(ref, "assist_investigation", "cm_li", assist_findings="Verified on site.", assist_opinion="concur")
    loans.do(ref, "review", "rev_chen")
    convene = loans.item(ref, "convene_committee")
    auth.login("chair_huang")
    page = client.get(f"/tasks/{convene.id}")
    assert page.status_code == 200
    block = field_block(page.text, "committee_members")
    assert 'type="checkbox" name="committee_members" value="member1"' in block
    assert "cm_wang" not in block


def test_a_task_claimed_by_someone_else_shows_a_read_only_form(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    review = loans.item(ref, "review")
    engine.claim("rev_chen", review.id, source="cli")
    auth.login("rev_zhou")
    page = client.get(f"/tasks/{review.id}", headers={"Accept-Language": "en"}).text
    assert "rev_chen has claimed this task" in page
    assert '<fieldset disabled' in page and "Complete task" not in page  # nothing typed here can be lost
    auth.logout()
    auth.login("rev_chen")
    mine = client.get(f"/tasks/{review.id}", headers={"Accept-Language": "en"}).text
    assert "Complete task" in mine and "<fieldset disabled" not in mine


def test_a_user_picker_shows_names_and_how_much_work_each_person_holds(client, auth, loans, engine):
    ref = loans.released()
    loans.do(ref, "execute_payment", "acct_ma", payment_reference="P-1", payment_amount=1_500_000)
    assign = loans.item(ref, "assign_post_loan_manager")
    other = loans.start("cm_li")
    engine.claim("cm_li", loans.item(other, "investigate").id, source="cli")  # cm_li holds one open task
    auth.login("plh_luo")
    page = client.get(f"/tasks/{assign.id}", headers={"Accept-Language": "en"}).text
    assert re.search(r'<option value="plm_guo"[^>]*>[^<]*\(plm_guo\) · 0 open task\(s\)</option>', page)


def test_a_decision_that_ends_the_loan_says_so(client, auth, loans):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    review = loans.item(ref, "review")
    auth.login("rev_chen")
    done = auth.post(f"/tasks/{review.id}/complete", {"opinion": "Cash flow does not cover the debt.",
                                                      "decision": "reject"},
                     follow_redirects=True, headers={"Accept-Language": "en"})
    assert "Done: Review credit file" in done.text and "The loan was rejected; its file is closed." in done.text
