"""The core banking feed over the API (only its own account may post) and the loan account on the loan's page."""
from __future__ import annotations


def _position(ref: str, **changes) -> dict:
    return {"loan": ref, "contract_number": "HT-9", "maturity_date": "2027-11-20",
            "schedule": "Monthly interest, principal at maturity", "outstanding_principal": "1500000.00",
            "overdue_principal": "250000.00", "overdue_interest": 6250.5, "days_past_due": 31,
            "last_repayment_date": "2026-11-30", "last_repayment_amount": "6250.00", **changes}


def test_the_feed_posts_positions_and_gets_each_refused_row(client, engine, loans):
    ref = loans.disbursed()
    feed = {"Authorization": f"Bearer {engine.issue_token(loans.core_banking())}"}
    batch = {"as_of": "2026-12-04", "positions": [_position(ref), _position("L-2099-000001"),
                                                   _position(ref, overdue_interest="-1")]}
    answer = client.post("/api/v1/servicing/positions", json=batch, headers=feed)
    assert answer.status_code == 200, answer.json
    assert answer.json["accepted"] == [ref] and answer.json["unchanged"] == []
    assert [(r["row"], r["field"]) for r in answer.json["refused"]] == [(2, "loan"), (3, "overdue_interest")]
    assert "L-2099-000001" in answer.json["refused"][0]["message"]
    again = client.post("/api/v1/servicing/positions", json={**batch, "positions": batch["positions"][:1]},
                        headers=feed)
    assert again.status_code == 200 and again.json["unchanged"] == [ref] and again.json["accepted"] == []

    chinese = client.post("/api/v1/servicing/positions", json=batch, headers={**feed, "Accept-Language": "zh-CN"})
    assert "不得为负" in chinese.json["refused"][1]["message"]

    for bad in ({"positions": []}, {"as_of": "yesterday", "positions": []}, {"as_of": "2026-12-04", "positions": {}},
                {"as_of": "2026-12-04", "positions": [], "extra": 1}):
        response = client.post("/api/v1/servicing/positions", json=bad, headers=feed)
        assert response.status_code == 400, bad


def test_nobody_else_may_post_positions_and_the_attempt_is_recorded(client, engine, loans):
    ref = loans.disbursed()
    refused = engine.count_events("refused")
    for person in ("cm_wang", "acct_ma"):
        response = client.post("/api/v1/servicing/positions", headers={
            "Authorization": f"Bearer {engine.issue_token(person)}"}, json={"as_of": "2026-12-04",
                                                                            "positions": [_position(ref)]})
        assert response.status_code == 403
    assert engine.count_events("refused") == refused + 2
    assert engine.loan(ref).account is None


def test_the_loan_page_shows_the_account_as_the_feed_reports_it(client, auth, engine, loans):
    ref = loans.disbursed()
    auth.login("cm_wang")
    assert "Loan account" not in client.get(f"/loans/{ref}").get_data(as_text=True)
    summary = engine.import_positions("2026-12-04", [_position(ref, overdue_interest="6250.50")], actor=loans.core_banking(), source="api")
    assert summary.accepted == [ref], summary
    page = client.get(f"/loans/{ref}").get_data(as_text=True)
    assert "Loan account" in page and "as of 2026-12-04" in page
    assert "1,500,000.00" in page and "256,250.50" in page and "31" in page and "2027-11-20" in page
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    chinese = client.get(f"/loans/{ref}").get_data(as_text=True)
    assert "贷款账户" in chinese and "逾期天数" in chinese


def test_the_feed_onboards_a_disbursed_loan_once(client, engine, loans):
    feed = {"Authorization": f"Bearer {engine.issue_token(loans.core_banking())}"}
    row = {**_position("CB-7001", days_past_due=0, overdue_principal="0", overdue_interest="0",
                       last_repayment_date="2026-10-20"),
           "borrower": "Old Book Trading Co., Ltd.", "borrower_id": "91350100M000100Y43", "product": "working_capital",
           "amount": "2000000.00", "branch": "BJ01", "disbursed_on": "2026-06-20", "originator": "cm_wang"}
    batch = {"as_of": "2026-11-01", "loans": [row, {**row, "loan": "CB-7002", "originator": "nobody"}]}
    answer = client.post("/api/v1/servicing/onboarding", json=batch, headers=feed)
    assert answer.status_code == 200, answer.json
    assert answer.json["onboarded"] == ["CB-7001"] and [r["field"] for r in answer.json["refused"]] == ["originator"]
    again = client.post("/api/v1/servicing/onboarding", json=batch, headers=feed)
    assert again.json["onboarded"] == [] and again.json["unchanged"] == ["CB-7001"]
    assert engine.loan("CB-7001").stage == "post_loan"
    nobody = client.post("/api/v1/servicing/onboarding", json=batch,
                         headers={"Authorization": f"Bearer {engine.issue_token('cm_wang')}"})
    assert nobody.status_code == 403
    assert client.post("/api/v1/servicing/onboarding", json={"as_of": "2026-11-01", "positions": []},
                       headers=feed).status_code == 400
