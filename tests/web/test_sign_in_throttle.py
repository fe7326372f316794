"""Sign-in throttling counted in the audit trail: it holds across web workers and restarts, and follows the engine clock."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from engine.errors import TooManyAttempts
from engine.store.models import AuditEvent
from webapp import create_app

from .webtest_helpers import PASSWORD, AuthActions

BLOCKED = "Too many failed sign-ins for cm_wang; try again in %d seconds."


@pytest.fixture
def new_app(web_database_url, clock):
    """Start another web worker (a new create_app with its own engine and connection pool) on the same database."""
    started = []

    def start(**config):
        app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": web_database_url,
                          "CLOCK": clock, **config})
        started.append(app)
        return app
    yield start
    for app in started:
        app.extensions["creditflow"].db.dispose()


def browser(app) -> AuthActions:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return AuthActions(client)


def test_lock_holds_across_workers_and_restarts_and_lifts_with_time(new_app, clock):
    worker_a, worker_b = new_app(), new_app()
    for _ in range(3):
        assert browser(worker_a).login(password="wrong-password").status_code == 401

    blocked = browser(worker_b).login()  # another worker, the right password: still refused
    assert blocked.status_code == 429
    assert BLOCKED % 2 in blocked.text
    assert blocked.headers["Retry-After"] == "2"
    assert browser(worker_b).login("cm_li").status_code == 302  # only this user name is locked

    restarted = new_app()  # every worker restarted: the lock is in the database, not in memory
    assert browser(restarted).login().status_code == 429

    clock.advance(seconds=2)
    signed_in = browser(restarted)
    assert signed_in.login().status_code == 302
    assert "cm_wang" in signed_in.client.get("/").text

    for _ in range(3):  # the success reset the count: three free attempts again
        assert browser(worker_a).login(password="wrong-password").status_code == 401
    assert browser(worker_b).login().status_code == 429


def test_wait_doubles_per_further_failure_up_to_the_cap(engine, clock):
    for _ in range(3):
        assert engine.sign_in("cm_wang", "wrong-password", free_attempts=3, max_lock_seconds=5) is None
    waits = []
    for _ in range(4):
        with pytest.raises(TooManyAttempts) as refused:
            engine.sign_in("cm_wang", PASSWORD, free_attempts=3, max_lock_seconds=5)
        waits.append(refused.value.params["seconds"])
        clock.advance(seconds=waits[-1])
        assert engine.sign_in("cm_wang", "wrong-password", free_attempts=3, max_lock_seconds=5) is None
    assert waits == [2, 4, 5, 5]  # counted from the last failure, capped at SIGN_IN_MAX_LOCK_SECONDS


def test_wait_is_counted_from_the_last_failure(engine, clock):
    for _ in range(4):
        engine.sign_in("cm_wang", "wrong-password")
        clock.advance(seconds=10)  # four failures 10 s apart: none was refused, the fourth earns 4 s
    clock.advance(seconds=-9)
    with pytest.raises(TooManyAttempts) as refused:
        engine.sign_in("cm_wang", PASSWORD)
    assert refused.value.params["seconds"] == 3 and refused.value.code == "too_many_attempts"


def test_refusals_are_audited_and_do_not_extend_the_lock(engine, clock):
    for _ in range(3):
        engine.sign_in("cm_wang", "wrong-password")
    for _ in range(5):  # hammering while locked
        with pytest.raises(TooManyAttempts):
            engine.sign_in("cm_wang", "wrong-password")
    with engine.db.reading() as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.outcome, AuditEvent.rule, AuditEvent.detail)
                                 .where(AuditEvent.actor == "cm_wang").order_by(AuditEvent.id)).all()
    assert [(e.action, e.outcome, e.rule) for e in events] == (
        [("sign_in_failed", "denied", None)] * 3 + [("sign_in_failed", "denied", "too_many_attempts")] * 5)
    assert events[-1].detail == {"wait_seconds": 2}
    clock.advance(seconds=2)
    assert engine.sign_in("cm_wang", PASSWORD) is not None


def test_parallel_guesses_share_no_free_attempt(engine):
    def guess(_n):
        try:
            return engine.sign_in("cm_wang", "wrong-password")
        except TooManyAttempts:
            return "refused"
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(guess, range(8)))
    assert outcomes.count(None) == 3 and outcomes.count("refused") == 5  # three password checks, not eight


def test_a_throttled_sign_in_in_chinese(new_app):
    worker = new_app()
    for _ in range(3):
        browser(worker).login(password="wrong-password")
    client = worker.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    blocked = AuthActions(client).login()
    assert blocked.status_code == 429 and "cm_wang 登录失败次数过多；请 2 秒后重试。" in blocked.text
