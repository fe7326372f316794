"""Sign-in, sign-out, CSRF and the anonymous redirect on every protected route."""
from __future__ import annotations

import pytest

from .webtest_helpers import PASSWORD, csrf_token

PAGES = ["/", "/?kind=available", "/?kind=done", "/tasks/1", "/loans/new", "/loans/L-2026-000001",
         "/loans/L-2026-000001/instances/1/diagram.bpmn"]
FORM_POSTS = ["/tasks/1/claim", "/tasks/1/release", "/tasks/1/complete", "/loans/new", "/auth/logout"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_redirect_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("path", FORM_POSTS)
def test_anonymous_posts_redirect_to_sign_in(client, path):
    response = client.post(path, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_sign_in_page_and_successful_sign_in(client, auth):
    page = client.get("/auth/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "cm_wang" in client.get("/").text


def test_wrong_password_is_a_clear_message(client, auth):
    response = auth.login(password="not-the-password")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert client.get("/").status_code == 302


def test_failed_sign_ins_are_rate_limited(client, auth):
    for _ in range(3):
        assert auth.login(password="wrong-password").status_code == 401
    blocked = auth.login()  # even the right password waits now
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    assert client.get("/").status_code == 302


def test_rate_limit_is_per_user_name(client, auth):
    for _ in range(4):
        auth.login("cm_li", "wrong-password")
    assert auth.login("cm_wang").status_code == 302


def test_sign_in_without_csrf_token_is_refused(client):
    response = client.post("/auth/login", data={"username": "cm_wang", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_form_post_without_csrf_token_is_refused(client, auth, loans, engine):
    ref = loans.at_approval()
    item = loans.item(ref, "sign_business")
    auth.login("cm_li")
    response = client.post(f"/tasks/{item.id}/claim")
    assert response.status_code == 400
    assert "reload the page" in response.text
    assert loans.item(ref, "sign_business").claimed_by is None


def test_logout_needs_post_and_signs_out(client, auth):
    auth.login()
    assert client.get("/auth/logout").status_code == 405
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get("/").status_code == 302


def test_next_parameter_stays_on_this_site(client):
    response = client.post("/auth/login?next=//evil.example/", data={
        "username": "cm_wang", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/"


def test_signed_in_user_goes_where_they_were_going(client):
    response = client.post("/auth/login?next=/loans/new", data={
        "username": "cm_wang", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/loans/new"


def test_a_session_copied_before_sign_out_opens_nothing_afterwards(app, client, auth, loans):
    ref = loans.start()
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    assert stolen.get("/").status_code == 200
    auth.logout()
    assert stolen.get("/").status_code == 302  # back to sign-in
    assert stolen.get(f"/tasks/{item.id}").status_code == 302


def test_an_unknown_user_name_costs_a_password_check_like_a_wrong_password(engine, monkeypatch):
    import engine.store.people as users
    checked = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    engine.sign_in("cm_wang", "wrong-password-1", free_attempts=1000)
    engine.sign_in("nobody_at_all", "wrong-password-1", free_attempts=1000)
    assert len(checked) == 2  # the same slow hash either way: no user enumeration by timing
