"""The credit file after repayment: the closure review on the record, the collateral and its release."""
from __future__ import annotations

CLOSURE = {"closure_summary": "Repaid on time; sales grew by a third.", "closure_lessons": "Watch inventory.",
           "relationship_rating": "excellent"}


def closed(engine, loans, clock) -> str:
    ref = loans.disbursed()
    loans.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    clock.advance(days=15, minutes=1)
    engine.tick()
    loans.do(ref, "lead_inspection", "plm_guo", visit_date="2026-11-18", inspection_findings="Normal.",
             repayment_status="current")
    loans.do(ref, "assist_inspection", "cm_wang", observations="Consistent.")
    loans.do(ref, "review_inspection_report", "plh_luo", disposition="normal", classification="normal",
             remarks="No change.")
    assert engine.send_message(ref, "loan_repaid", {"repaid_on": "2027-06-30"}, actor="acct_ma") == 1
    loans.do(ref, "review_closure", "plh_luo", **CLOSURE)
    return ref


def test_the_credit_file_shows_the_closure_review_and_the_collateral(client, auth, engine, loans, clock):
    ref = closed(engine, loans, clock)
    (item,) = engine.collateral(ref)
    engine.propose_release("coll_hu", ref, item.id, "Repaid.")
    engine.approve_release("plh_luo", ref, item.id)
    auth.login("plh_luo")
    page = client.get(f"/loans/{ref}")
    assert page.status_code == 200
    assert "Repaid on time; sales grew by a third." in page.text and "Watch inventory." in page.text
    assert 'id="loan-collateral"' in page.text and "DJ-9" in page.text and "Released" in page.text
    assert "Collateral released" in page.text


def test_a_release_is_proposed_and_approved_from_the_credit_file(client, auth, engine, loans, clock):
    ref = closed(engine, loans, clock)
    (item,) = engine.collateral(ref)
    auth.login("coll_hu")
    assert "Propose release" in client.get(f"/loans/{ref}").text
    proposed = auth.post(f"/loans/{ref}/collateral/{item.id}/propose-release", {"reason": "Repaid."})
    assert proposed.status_code == 302 and engine.collateral(ref)[0].status == "release_proposed"
    auth.logout()
    auth.login("plh_luo")
    assert "Approve release" in client.get(f"/loans/{ref}").text
    approved = auth.post(f"/loans/{ref}/collateral/{item.id}/approve-release")
    assert approved.status_code == 302 and engine.collateral(ref)[0].released_by == "plh_luo"
