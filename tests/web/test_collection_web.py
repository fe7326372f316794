"""A loan the feed reports overdue: the customer manager's collection task and the rule's warning, in Chinese."""
from __future__ import annotations


def _overdue(ref: str, days: int) -> dict:
    return {"loan": ref, "contract_number": "HT-9", "maturity_date": "2027-11-20",
            "outstanding_principal": "1500000.00", "overdue_principal": "250000.00", "overdue_interest": "6250.00",
            "days_past_due": days, "last_repayment_date": "2026-11-01", "last_repayment_amount": "6250.00"}


def test_the_customer_manager_reminds_the_borrower_from_the_task_page(client, auth, engine, loans):
    ref = loans.disbursed()
    engine.import_positions("2026-12-04", [_overdue(ref, 31)], actor=loans.core_banking(), source="api")
    item = loans.item(ref, "remind_borrower")
    auth.login("cm_wang")
    page = client.get(f"/tasks/{item.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "提醒借款人还款" in page and "联系方式" in page and "上门" in page
    response = auth.post(f"/tasks/{item.id}/complete", {"reminded_on": "2026-12-04", "reminder_channel": "phone",
                                                       "borrower_response": "Pays next week."})
    assert response.status_code in (200, 302, 303)
    assert [i.bpmn_id for i in engine.loan_items(ref) if i.process_id == "collection"] == []  # awaiting escalation

    inbox = client.get("/notifications/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "逾期 31 天(核心系统报送),超过 30 天" in inbox
