"""Bad input is a 400 with a clear message, never a server error."""
from __future__ import annotations

import pytest


@pytest.fixture
def token(engine):
    return engine.issue_token("cm_wang")


def test_hostile_json_bodies_are_refused_clearly(client, token):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept-Language": "en"}
    for body in ("[" * 100_000 + "]" * 100_000, '{"amount": 1e999999999}', '{"amount": ' + "9" * 5000 + "}"):
        response = client.post("/api/v1/loans", data=body, headers=headers)
        assert response.status_code == 400, (body[:40], response.status_code)
        assert response.json["code"] == "invalid_input" and response.json["message"]


def test_a_five_thousand_digit_amount_on_the_web_form_is_a_400(client, auth):
    auth.login("cm_wang")
    response = auth.post("/loans/new", {"borrower": "Big Co.", "product": "working_capital", "amount": "9" * 5000,
                                     "term_months": "12"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400


def test_hostile_addresses_are_a_400_or_404(client, auth):
    auth.login("cm_wang")
    assert client.get("/loans/L-2026%00-1").status_code in (400, 404)
    assert client.get("/api/v1/loans/L-2026%00-1").status_code in (400, 401, 404)


def test_a_cursor_beyond_any_id_is_a_400_on_the_audit_pages(client, auth):
    auth.login("auditor_xie")
    response = client.get("/audit/?after=99999999999999")
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["/%09/evil.example", "/\n/evil.example", "/\\evil.example", "//evil.example",
                                    "https://evil.example/", "/%0a/evil.example"])
def test_sign_in_never_redirects_off_site(client, target):
    from .webtest_helpers import PASSWORD, csrf_token
    token = csrf_token(client)
    response = client.post(f"/auth/login?next={target}", data={"username": "cm_wang", "password": PASSWORD,
                                                               "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location
