"""A task form saved unfinished: kept for its owner as typed, prefilled when they come back, gone when done."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import AuditEvent


def test_a_draft_is_saved_claimed_and_prefilled_for_its_owner_only(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    page = client.get(f"/tasks/{item.id}").text
    assert "Save draft" in page and f'formaction="/tasks/{item.id}/draft"' in page
    response = auth.post(f"/tasks/{item.id}/draft", {"findings": "Half of the findings <so far>",
                                                     "repayment_source": ""})
    assert response.status_code == 303 and response.headers["Location"] == f"/tasks/{item.id}"
    assert loans.item(ref, "investigate").claimed_by == "cm_wang"  # nobody else works on it meanwhile
    page = client.get(f"/tasks/{item.id}").text
    assert "Draft saved at 2026-11-02 09:00." in page and "Half of the findings &lt;so far&gt;" in page
    assert "草稿已于 2026-11-02 09:00 保存。" in client.get(f"/tasks/{item.id}", headers={"Accept-Language": "zh-CN"}).text
    with engine.db.reading() as s:
        (saved,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "draft_saved")).all()
        assert saved.actor == "cm_wang" and "Half" not in str(saved.detail)  # a draft is not a decision
    auth.logout()
    auth.login("cm_li")
    other = client.get(f"/tasks/{item.id}").text
    assert "Half of the findings" not in other and "Draft saved" not in other
    assert auth.post(f"/tasks/{item.id}/draft", {"findings": "Mine"}).status_code == 403
    assert engine.draft("cm_li", item.id) is None


def test_completing_the_task_deletes_the_draft(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.ready(ref, "investigate", "cm_wang")
    auth.login("cm_wang")
    auth.post(f"/tasks/{item.id}/draft", {"findings": "Draft"})
    assert engine.draft("cm_wang", item.id).values == {"findings": "Draft"}
    done = auth.post(f"/tasks/{item.id}/complete", {"findings": "Final.", "repayment_source": "Operations",
                                                    "recommendation": "proceed"})
    assert done.status_code == 302 and engine.draft("cm_wang", item.id) is None


def test_amounts_in_a_draft_are_kept_as_typed_in_yuan(client, auth, loans, engine):
    ref = loans.at_approval()
    loans.do(ref, "sign_business", "cm_wang")
    loans.do(ref, "sign_risk", "risk_liu")
    item = loans.item(ref, "register_collateral")
    auth.login("coll_hu")
    auth.post(f"/tasks/{item.id}/draft", {"collateral_value": "3,000,000.50", "registration_number": "DJ-1"})
    page = client.get(f"/tasks/{item.id}").text
    assert 'value="3,000,000.50"' in page and 'value="DJ-1"' in page


def test_a_draft_too_long_is_refused_with_the_reason_and_what_was_typed_kept(client, auth, loans, engine):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    response = auth.post(f"/tasks/{item.id}/draft", {"findings": "x" * 70_000})
    assert response.status_code == 400 and "The draft is too long to save" in response.text
    assert engine.draft("cm_wang", item.id) is None
