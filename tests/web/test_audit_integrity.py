"""The integrity page: the auditor verifies the trail from the web app; an edited row raises a red banner on every
audit page, naming the event, until a verification passes; nobody else may verify."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text

from engine.audit.search import event_view
from engine.store.models import AuditEvent, AuditVerification
from webapp import create_app

from .webtest_helpers import AuthActions

AUDITOR = "auditor_xie"
AUDIT_PAGES = ["/audit/", "/audit/heatmap", "/audit/segregation", "/audit/integrity", "/audit/loans/{ref}"]


@pytest.fixture
def loan(loans):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    return ref


def _edit(engine, event_id: int, **values) -> None:
    """As someone with database access would: straight SQL on the trail."""
    outside = create_engine(engine.db.url)
    try:
        with outside.begin() as conn:
            for column, value in values.items():
                conn.execute(text(f"UPDATE audit_event SET {column} = :v WHERE id = :id"), {"v": value, "id": event_id})
    finally:
        outside.dispose()


def _event(engine, action: str, loan_ref: str):
    with engine.db.reading() as session:
        return event_view(session.scalar(select(AuditEvent).where(AuditEvent.action == action,
                                                                  AuditEvent.loan_ref == loan_ref)
                                         .order_by(AuditEvent.id).limit(1)))


def _verifications(engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(AuditVerification))


def test_the_auditor_verifies_and_sees_the_checkpoint_and_history(client, auth, engine, loan):
    auth.login(AUDITOR)
    page = client.get("/audit/integrity").text
    assert "Never verified" in page and 'class="chain-alarm"' not in page
    response = auth.post("/audit/integrity/verify", {"mode": "incremental"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/audit/integrity")
    page = client.get("/audit/integrity").text
    assert "The trail is intact" in page and "Signed" not in page.split('id="checkpoint"')[1].split("</section>")[0]
    assert len(re.findall(r'data-verification="\d+"', page)) == 1
    auth.post("/audit/integrity/verify", {"mode": "full"})
    page = client.get("/audit/integrity").text
    assert len(re.findall(r'data-verification="\d+"', page)) == 2 and "Full verification)" in page
    with engine.db.reading() as session:
        done = [(e.actor, e.source, e.outcome, e.detail["mode"])
                for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "chain_verified"))]
    assert done == [
        (AUDITOR, "web", "done", "incremental"), (AUDITOR, "web", "done", "full")]


def test_an_edited_row_raises_the_banner_on_every_audit_page_until_a_verification_passes(client, auth, engine, loan):
    auth.login(AUDITOR)
    assert auth.post("/audit/integrity/verify", {"mode": "incremental"}).status_code == 303
    target = _event(engine, "task_completed", loan)
    _edit(engine, target.id, actor="mallory")
    for path in AUDIT_PAGES:  # nothing is shown before a verification finds it
        assert 'class="chain-alarm"' not in client.get(path.format(ref=loan)).text
    auth.post("/audit/integrity/verify", {"mode": "full"})
    when = target.occurred_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    for path in AUDIT_PAGES:
        page = client.get(path.format(ref=loan)).text
        banner = re.search(r'<div class="chain-alarm"[^>]*data-broken-event="(\d+)">(.*?)</div>', page, re.S)
        assert banner, path
        assert int(banner.group(1)) == target.id
        words = " ".join(banner.group(2).split())
        assert f"Event {target.id} (Task completed, {when}): its content does not match its hash" in words
        assert 'href="/audit/integrity"' in words
    assert 'class="chain-alarm"' not in client.get("/").text  # the banner belongs to the audit pages
    # an incremental verification starts before the edit and still finds it
    auth.post("/audit/integrity/verify", {"mode": "incremental"})
    assert f'data-broken-event="{target.id}"' in client.get("/audit/").text
    _edit(engine, target.id, actor=target.actor)  # restored from the backup
    auth.post("/audit/integrity/verify", {"mode": "incremental"})
    assert 'class="chain-alarm"' not in client.get("/audit/").text
    assert "The trail is intact" in client.get("/audit/integrity").text


def test_the_banner_shows_in_every_process(app, client, auth, engine, loan):
    """The broken state is kept in the database: another web worker shows it too."""
    auth.login(AUDITOR)
    target = _event(engine, "loan_created", loan)
    _edit(engine, target.id, reason="routine")
    auth.post("/audit/integrity/verify", {"mode": "full"})
    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": app.config["DATABASE_URL"],
                        "CLOCK": app.config["CLOCK"]})
    try:
        browser = other.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        AuthActions(browser).login(AUDITOR)
        assert f'data-broken-event="{target.id}"' in browser.get("/audit/segregation").text
    finally:
        other.extensions["creditflow"].db.dispose()


@pytest.mark.parametrize("user", ["cm_wang", "plh_luo", "admin", "designer_zheng"])
def test_nobody_else_may_verify(client, auth, engine, loan, user):
    auth.login(user)
    assert auth.post("/audit/integrity/verify", {"mode": "full"}).status_code == 403
    assert client.get("/audit/integrity").status_code == 403
    assert _verifications(engine) == 0


def test_verifying_needs_the_csrf_token(client, auth, engine, loan):
    auth.login(AUDITOR)
    assert client.post("/audit/integrity/verify", data={"mode": "full"}).status_code == 400
    assert _verifications(engine) == 0


def test_the_integrity_page_in_chinese(client, auth, engine, loan):
    auth.login(AUDITOR)
    target = _event(engine, "task_completed", loan)
    _edit(engine, target.id, actor="mallory")
    auth.post("/audit/integrity/verify", {"mode": "full"})
    page = client.get("/audit/integrity", headers={"Accept-Language": "zh-CN"}).text
    banner = re.search(r'<div class="chain-alarm".*?</div>', page, re.S).group(0)
    assert "审计" in banner and str(target.id) in banner
    assert "its content does not match" not in page


def test_verifying_changes_no_business_data(client, auth, engine, loan):
    from .test_audit_pages import _business_state
    before = _business_state(engine)
    auth.login(AUDITOR)
    auth.post("/audit/integrity/verify", {"mode": "full"})
    events, *rest = _business_state(engine)
    assert events == before[0] + ("chain_verified",) and tuple(rest) == before[1:]


def test_an_unusable_key_is_said_on_the_page_and_refuses_the_verification(client, auth, engine, loan, tmp_path):
    engine.settings = engine.settings.merged(checkpoint_key=str(tmp_path / "missing.pem"))
    auth.login(AUDITOR)
    page = client.get("/audit/integrity")
    assert page.status_code == 200 and "The checkpoint key cannot be used" in page.text and "missing.pem" in page.text
    refused = auth.post("/audit/integrity/verify", {"mode": "incremental"})
    assert refused.status_code in (400, 422) and "The checkpoint key cannot be used" in refused.text
    assert _verifications(engine) == 0
