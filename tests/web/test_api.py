"""The JSON API: bearer tokens, every endpoint, and errors as {code, message} with 400/401/403/404/409."""
from __future__ import annotations

import pytest

from engine.errors import ConcurrentChange


@pytest.fixture
def token(engine):
    def issue(username: str = "cm_wang") -> dict:
        return {"Authorization": f"Bearer {engine.issue_token(username)}"}
    return issue


API_ROUTES = [("get", "/api/v1/tasks"), ("get", "/api/v1/tasks/1"), ("post", "/api/v1/tasks/1/claim"),
              ("post", "/api/v1/tasks/1/release"), ("post", "/api/v1/tasks/1/complete"), ("post", "/api/v1/loans"),
              ("get", "/api/v1/loans/L-2026-000001"), ("get", "/api/v1/loans/L-2026-000001/history")]


@pytest.mark.parametrize("method,path", API_ROUTES)
def test_api_needs_a_bearer_token(client, method, path):
    for headers in ({}, {"Authorization": "Bearer cf_wrong"}, {"Authorization": "Basic abc"}):
        response = getattr(client, method)(path, headers=headers, json={})
        assert response.status_code == 401
        assert response.json["code"] == "unauthorized" and response.json["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_start_loan_list_claim_release_complete_and_read(client, token, loans):
    cm = token("cm_wang")
    created = client.post("/api/v1/loans", headers=cm, json={
        "borrower": "Tianjin Ganglian Logistics Co., Ltd.", "product": "working_capital", "amount": 1800000.50,
        "term_months": 12})
    assert created.status_code == 201
    ref = created.json["reference"]
    assert created.headers["Location"] == f"/api/v1/loans/{ref}"
    mine = client.get("/api/v1/tasks", headers=cm).json
    assert mine["total"] == 1 and mine["items"][0]["step"] == "investigate" and mine["items"][0]["loan_ref"] == ref
    item_id = mine["items"][0]["id"]
    detail = client.get(f"/api/v1/tasks/{item_id}", headers=cm).json
    assert detail["form"]["properties"]["findings"] and detail["instructions"].startswith("Investigate the borrower")
    assert detail["task"]["title"] == "Investigate borrower" and detail["task"]["name"] == "调查借款人"
    chinese = client.get(f"/api/v1/tasks/{item_id}", headers={**cm, "Accept-Language": "zh-CN"}).json
    assert chinese["task"]["title"] == "调查借款人" and chinese["instructions"].startswith("调查借款人")
    form = {"data": {"findings": "Fine.", "repayment_source": "Operations", "recommendation": "proceed"}}
    missing = client.post(f"/api/v1/tasks/{item_id}/complete", headers=cm, json=form)
    assert missing.status_code == 400 and missing.json["code"] == "missing_documents"
    assert "Financial statements" in missing.json["message"]
    loans.ready(ref, "investigate", "cm_wang")
    done = client.post(f"/api/v1/tasks/{item_id}/complete", headers=cm, json=form)
    assert done.status_code == 200 and done.json == {"id": item_id, "completed": True}

    reviewer = token("rev_chen")
    available = client.get("/api/v1/tasks?kind=available", headers=reviewer).json
    review_id = available["items"][0]["id"]
    assert client.post(f"/api/v1/tasks/{review_id}/claim", headers=reviewer).json["claimed_by"] == "rev_chen"
    assert client.get("/api/v1/tasks", headers=reviewer).json["total"] == 1
    assert client.post(f"/api/v1/tasks/{review_id}/release", headers=reviewer).json["claimed_by"] is None

    loan = client.get(f"/api/v1/loans/{ref}", headers=reviewer).json
    assert loan["amount"] == "1800000.50" and loan["stage"] == "review"
    assert "investigate" in loan["instances"][0]["completed_steps"]
    assert [t["step"] for t in loan["open_tasks"]] == ["review"]
    history = client.get(f"/api/v1/loans/{ref}/history", headers=reviewer).json
    assert [a["duty"] for a in history["acts"]] == ["originate", "investigate"]
    assert client.get("/api/v1/tasks?kind=done", headers=cm).json["items"][0]["duty"] == "investigate"


def test_bad_input_is_400_with_fields(client, token):
    cm = token()
    response = client.post("/api/v1/loans", headers=cm, json={"borrower": "", "amount": "lots"})
    assert response.status_code == 400
    assert response.json["code"] == "invalid_input"
    assert set(response.json["fields"]) >= {"amount", "product", "term_months"}
    assert client.post("/api/v1/loans", headers=cm, data="not json", content_type="application/json").status_code == 400
    assert client.post("/api/v1/loans", headers=cm, json=[1, 2]).status_code == 400
    assert client.post("/api/v1/loans", headers=cm, data="{}", content_type="text/plain").status_code == 400
    assert client.get("/api/v1/tasks?page=0", headers=cm).status_code == 400
    assert client.get("/api/v1/tasks?kind=everything", headers=cm).status_code == 400


def test_policy_refusal_is_403_with_a_stable_code(client, token, loans):
    ref, person = loans.at_risk_signature()
    sign = loans.item(ref, "sign_risk")
    response = client.post(f"/api/v1/tasks/{sign.id}/complete", headers=token(person),
                           json={"data": {"decision": "approve", "conditions": "", "reason": "mine"}})
    assert response.status_code == 403
    assert response.json["code"] == "duty_conflict"
    assert "must be different people" in response.json["message"] and response.json["rule"]


def test_policy_refusal_message_in_chinese(client, token, loans):
    ref, person = loans.at_risk_signature()
    sign = loans.item(ref, "sign_risk")
    response = client.post(f"/api/v1/tasks/{sign.id}/claim", headers={**token(person), "Accept-Language": "zh-CN"})
    assert response.status_code == 403
    assert "须由不同人员办理" in response.json["message"]


def test_unknown_things_are_404(client, token):
    cm = token()
    for path in ("/api/v1/loans/L-1999-000009", "/api/v1/loans/L-1999-000009/history", "/api/v1/tasks/424242",
                 "/api/v1/nothing-here"):
        response = client.get(path, headers=cm)
        assert response.status_code == 404 and response.json["code"] == "not_found", path
    assert client.post("/api/v1/tasks/424242/claim", headers=cm).status_code == 404


def test_other_branch_cannot_read_a_loan(client, token, loans):
    loans.other_branch_staff()
    ref = loans.start("cm_wang")
    response = client.get(f"/api/v1/loans/{ref}", headers=token("cm_sh"))
    assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_concurrent_change_is_409(client, token, loans, engine, monkeypatch):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")

    def collide(*args, **kwargs):
        raise ConcurrentChange("Someone else changed this loan at the same time; reload and try again.")
    monkeypatch.setattr(engine, "complete", collide)
    response = client.post(f"/api/v1/tasks/{item.id}/complete", headers=token(), json={"data": {}})
    assert response.status_code == 409 and response.json["code"] == "concurrent_change"


def test_api_is_exempt_from_csrf_and_the_web_session_is_not_a_credential(client, auth, token):
    auth.login("cm_wang")
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks", headers=token()).status_code == 200


def test_nul_characters_are_refused_not_stored(client, token, auth):
    cm = token()
    assert client.get("/api/v1/tasks?branch=%00", headers=cm).status_code == 400
    assert client.post("/api/v1/loans", headers=cm, json={"borrower": "A\u0000B", "product": "working_capital",
                                                          "amount": 1000, "term_months": 12}).status_code == 400
    auth.login()
    assert client.get("/?branch=%00").status_code == 400
