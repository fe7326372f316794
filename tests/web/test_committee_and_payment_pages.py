"""What the chair sees before deciding on a veto, and what a refused payment looks like to the accounting operator."""
from __future__ import annotations

from datetime import timedelta

MEMBERS = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]


def to_chair_veto(loans) -> str:
    ref = loans.start(amount=8_000_000)
    loans.do(ref, "investigate", "cm_wang")
    loans.do(ref, "assist_investigation", "cm_li", assist_findings="Site visit confirms stock.", assist_opinion="concur")
    loans.do(ref, "review", "rev_chen")
    loans.do(ref, "convene_committee", "chair_huang", committee_members=MEMBERS, meeting_date="2026-11-10")
    for member in MEMBERS:
        item = next(i for i in loans.engine.loan_items(ref) if i.bpmn_id == "committee_vote" and i.candidate_user == member)
        data = {"decision": "reject", "reason": "Concentration."} if member == "member1" else {}
        loans.engine.complete(member, item.id, {"decision": "approve", "conditions": "", "reason": "Sound.", **data},
                              source="cli")
    return ref


def test_the_chair_sees_the_tally_and_every_vote_before_the_veto(client, auth, loans):
    ref = to_chair_veto(loans)
    item = loans.item(ref, "chair_veto")
    auth.login("chair_huang")
    page = client.get(f"/tasks/{item.id}", headers={"Accept-Language": "en"}).text
    assert "Committee tally" in page and "Concentration." in page
    assert "member1" in page and ">5<" in page.replace(" ", "")  # five votes for


def test_a_payment_above_the_approval_is_refused_on_the_page_with_the_amount_left(client, auth, loans):
    ref = loans.released()
    item = loans.item(ref, "execute_payment")
    auth.login("acct_ma")
    response = auth.post(f"/tasks/{item.id}/complete", {"payment_reference": "P-9", "payment_amount": "9999999"},
                         headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "1,500,000.00" in response.text and "left to pay" in response.text
    assert loans.item(ref, "execute_payment").id == item.id
    response = auth.post(f"/tasks/{item.id}/complete", {"payment_reference": "P-9", "payment_amount": "1500000"})
    assert response.status_code in (302, 303)
    page = client.get(f"/loans/{ref}", headers={"Accept-Language": "en"}).text
    assert "Drawdowns" in page and "P-9" in page


def test_the_branch_head_reassigns_an_open_task_from_the_loan_page(client, auth, loans, engine):
    ref = loans.start()
    item = loans.item(ref, "investigate")
    auth.login("head_qian")
    page = client.get(f"/loans/{ref}", headers={"Accept-Language": "en"}).text
    assert "Reassign to" in page and 'value="cm_li"' in page
    response = auth.post(f"/loans/{ref}/tasks/{item.id}/reassign", {"to_user": "cm_li", "reason": "Leave"},
                         follow_redirects=True, headers={"Accept-Language": "en"})
    assert "Task reassigned to cm_li." in response.text
    assert loans.item(ref, "investigate").candidate_user == "cm_li"
    auth.logout()
    auth.login("cm_wang")
    assert "Reassign to" not in client.get(f"/loans/{ref}").text


def test_the_branch_head_sees_escalated_tasks_with_the_reason(client, auth, loans, engine, clock):
    from datetime import timedelta
    ref = loans.start()
    item = loans.item(ref, "investigate")
    clock.set(item.due_at + timedelta(minutes=1))
    engine.tick()
    auth.login("head_qian")
    page = client.get("/?kind=escalated", headers={"Accept-Language": "en"}).text
    assert "Escalated to me" in page and ref in page and "Overdue" in page
    assert f'/loans/{ref}' in page and "Reassign" in page


def test_the_chair_closes_a_meeting_whose_missing_votes_are_overdue(client, auth, loans, clock):
    ref = loans.start(amount=8_000_000)
    loans.do(ref, "investigate", "cm_wang")
    loans.do(ref, "assist_investigation", "cm_li", assist_findings="Site visit confirms stock.", assist_opinion="concur")
    loans.do(ref, "review", "rev_chen")
    seven = MEMBERS + ["member6"]
    loans.do(ref, "convene_committee", "chair_huang", committee_members=seven, meeting_date="2026-11-10")
    votes = [i for i in loans.engine.loan_items(ref) if i.bpmn_id == "committee_vote"]
    for item in votes:
        if item.candidate_user not in ("member5", "member6"):
            loans.engine.complete(item.candidate_user, item.id, {"decision": "approve", "conditions": "",
                                                                 "reason": "Sound."}, source="cli")
    auth.login("chair_huang")
    page = client.get(f"/loans/{ref}", headers={"Accept-Language": "en"}).text
    assert "Committee votes still missing" in page and "member5" in page and "member6" in page
    early = auth.post(f"/loans/{ref}/close-meeting", {"reason": "Abroad."}, follow_redirects=True,
                      headers={"Accept-Language": "en"})
    assert "still have until" in early.text
    clock.set(max(v.due_at for v in votes) + timedelta(minutes=1))
    closed = auth.post(f"/loans/{ref}/close-meeting", {"reason": "Two members are abroad."}, follow_redirects=True,
                       headers={"Accept-Language": "en"})
    assert "recorded absent: member5, member6" in closed.text
    assert [i.bpmn_id for i in loans.engine.loan_items(ref)] == ["chair_veto"]
