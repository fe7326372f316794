"""Security headers on every response: every GET route, error pages and the JSON API; HSTS and Secure cookies with TLS."""
from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import update

from engine.simulation.documents import sample_pdf
from engine.store.models import Loan
from webapp import create_app

from .webtest_helpers import PASSWORD, csrf_token

ANONYMOUS = None
# Who may see each GET route: the customer manager cm_wang unless named here or by blueprint; an endpoint under
# /api/ is asked with that person's bearer token instead of a session.
WHO = {
    "static": ANONYMOUS, "auth.login": ANONYMOUS, "api.openapi": ANONYMOUS,
    "ops.healthz": ANONYMOUS, "ops.readyz": ANONYMOUS, "ops.metrics": ANONYMOUS,
    "incidents.index": "admin", "api.list_incidents": "admin",
    "api.list_changes": "designer_zheng", "api.change_detail": "designer_zheng",
}
BLUEPRINT_WHO = {"audit": "auditor_xie", "leave": "head_qian", "studio": "designer_zheng", "changes": "designer_zheng",
                 "migration": "designer_zheng", "modeler": "designer_zheng", "accountability": "cro_gao"}
# Pages about a loan in the accountability register: the fresh loan is marked substandard for them.
REGISTER_PAGES = {"audit.register_loan", "audit.register_loan_export", "accountability.show",
                  "accountability.export_loan"}
FILES = {"static": "style.css", "audit.static": "audit.js"}  # a file for each static route


def get_endpoints() -> list[str]:
    """Every endpoint with a GET route, read from the app's url_map (a new route is checked without editing this)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "collect", "DATABASE_URL": "sqlite://"})
    try:
        return sorted({rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods})
    finally:
        app.extensions["creditflow"].db.dispose()


def get_path(app, endpoint: str, loans, engine) -> str:
    """The endpoint's address for one fresh loan: its reference, first instance and investigation task."""
    ref = loans.start("cm_wang")
    values = {"reference": ref, "item_id": loans.item(ref, "investigate").id, "version_id": 1, "fmt": "csv",
              "instance_id": engine.loan(ref).instances[0].id, "filename": FILES.get(endpoint),
              "process_id": "origination", "version": 1, "username": "rev_chen"}
    rule = next(r for r in app.url_map.iter_rules(endpoint) if "GET" in r.methods)
    if endpoint in REGISTER_PAGES:
        with engine.db.transaction() as session:
            session.execute(update(Loan).where(Loan.reference == ref).values(classification="substandard"))
    if "change_id" in rule.arguments:  # a change drafted by a designer
        text = engine.current_files()["origination.bpmn"]
        values["change_id"] = engine.save_change("designer_zheng", {
            "origination.bpmn": text.replace('name="调查借款人"', 'name="调查"')}).id
    if "document_id" in rule.arguments:  # a file on the loan to download
        values["document_id"] = engine.attach_document("cm_wang", "other", "a.pdf", sample_pdf("A"), loan_ref=ref,
                                                       source="cli")
    with app.test_request_context():
        return url_for(endpoint, **{name: values[name] for name in rule.arguments})


def who_asks(endpoint: str) -> str | None:
    if endpoint in WHO:
        return WHO[endpoint]
    return BLUEPRINT_WHO.get(endpoint.partition(".")[0], "cm_wang")


ENDPOINTS = get_endpoints()


def assert_security_headers(response, tls: bool = False) -> None:
    headers = response.headers
    policy = {name: value.strip() for name, _sep, value in
              (part.strip().partition(" ") for part in headers["Content-Security-Policy"].split(";"))}
    if not (policy.get("default-src") == "'none'" and "sandbox" in policy):  # else: stricter, for data, not a page
        assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
        assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
        assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    if tls:
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    else:
        assert "Strict-Transport-Security" not in headers


def test_the_known_pages_are_among_the_routes():
    assert {"inbox.index", "loans.show", "tasks.show", "audit.trace", "audit.conformance", "audit.integrity", "api.task_detail",
            "static"} <= set(ENDPOINTS)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_headers_on_every_page(app, client, auth, loans, engine, endpoint):
    path = get_path(app, endpoint, loans, engine)
    who, headers = who_asks(endpoint), {}
    if who and path.startswith("/api/"):
        headers["Authorization"] = f"Bearer {engine.issue_token(who)}"
    elif who:
        assert auth.login(who).status_code == 302
    response = client.get(path, headers=headers)
    response.close()  # files and streamed exports hold resources
    assert response.status_code == 200, (endpoint, path, who, response.status_code)
    assert_security_headers(response)


@pytest.mark.parametrize("path, status", [
    ("/nowhere", 404), ("/audit/", 403), ("/auth/logout", 405), ("/api/v1/tasks", 401), ("/api/v1/nowhere", 404),
    ("/loans/L-1999-000001", 404),
])
def test_headers_on_error_pages(client, auth, path, status):
    auth.login("cm_wang")
    response = client.get(path)
    assert response.status_code == status
    assert_security_headers(response)


def test_headers_on_redirects_refusals_and_posts(client, auth):
    assert_security_headers(client.get("/"))  # 302 to the sign-in page
    for _ in range(3):
        assert_security_headers(auth.login(password="wrong-password"))  # 401
    blocked = auth.login()
    assert blocked.status_code == 429
    assert_security_headers(blocked)
    assert_security_headers(client.post("/auth/login", data={"username": "cm_li", "password": PASSWORD}))  # no CSRF
    response = client.post("/api/v1/loans", json={}, headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401 and response.is_json
    assert_security_headers(response)


def test_headers_on_an_unexpected_error(web_database_url, clock):
    app = create_app({"SECRET_KEY": "test-secret", "DATABASE_URL": web_database_url, "CLOCK": clock})

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")
    try:
        response = app.test_client().get("/boom")
        assert response.status_code == 500
        assert_security_headers(response)
    finally:
        app.extensions["creditflow"].db.dispose()


def test_no_hsts_and_no_secure_cookies_without_tls(app, client, auth):
    assert app.config["TLS"] is False
    response = auth.login()
    assert response.status_code == 302
    assert_security_headers(response)
    assert "Secure" not in response.headers["Set-Cookie"]


@pytest.mark.parametrize("setting", ["true", "1", "yes", "on"])
def test_tls_from_the_environment_brings_hsts_and_secure_cookies(monkeypatch, web_database_url, setting):
    monkeypatch.setenv("CREDITFLOW_TLS", setting)
    monkeypatch.setenv("CREDITFLOW_DATABASE_URL", web_database_url)
    monkeypatch.setenv("CREDITFLOW_SECRET_KEY", "test-secret")
    app = create_app()
    try:
        assert app.config["TLS"] is True
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        page = client.get("/auth/login", base_url="https://localhost")
        assert_security_headers(page, tls=True)
        response = client.post("/auth/login", base_url="https://localhost", headers={"Referer": "https://localhost/"},
                               data={"username": "cm_wang", "password": PASSWORD,
                                     "csrf_token": csrf_token(client, "https://localhost/auth/login")})
        assert response.status_code == 302
        assert_security_headers(response, tls=True)
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("session=") and "; Secure" in cookie and "HttpOnly" in cookie
    finally:
        app.extensions["creditflow"].db.dispose()


@pytest.mark.parametrize("setting", ["false", "0", "no", "off"])
def test_tls_off_in_the_environment(monkeypatch, web_database_url, setting):
    monkeypatch.setenv("CREDITFLOW_TLS", setting)
    monkeypatch.setenv("CREDITFLOW_DATABASE_URL", web_database_url)
    monkeypatch.setenv("CREDITFLOW_SECRET_KEY", "test-secret")
    app = create_app()
    try:
        assert app.config["TLS"] is False and not app.config.get("SESSION_COOKIE_SECURE")
        assert_security_headers(app.test_client().get("/auth/login"))
    finally:
        app.extensions["creditflow"].db.dispose()


def test_tls_in_the_test_configuration(web_database_url, clock):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": web_database_url,
                      "CLOCK": clock, "TLS": True})
    try:
        response = app.test_client().get("/static/style.css")
        response.close()
        assert_security_headers(response, tls=True)
    finally:
        app.extensions["creditflow"].db.dispose()
