"""A connection killed under a request: a clear 503 that says nothing was saved, never a 500; the next one works."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


@pytest.mark.postgres
def test_a_killed_connection_is_a_503_and_the_next_request_works(app, client, engine, loans, web_database_url,
                                                                monkeypatch):
    if not web_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL connections are killed from the server side")
    ref = loans.start()
    item = loans.ready(ref, "investigate", "cm_wang")
    headers = {"Authorization": f"Bearer {engine.issue_token('cm_wang')}", "Accept-Language": "en"}
    original = engine.workflows.checkout
    admin = create_engine(web_database_url, isolation_level="AUTOCOMMIT")

    def killed_meanwhile(ctx, instance):
        pid = ctx.session.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return original(ctx, instance)

    monkeypatch.setattr(engine.workflows, "checkout", killed_meanwhile)
    body = {"data": {"findings": "ok", "repayment_source": "cash", "recommendation": "proceed"}}
    response = client.post(f"/api/v1/tasks/{item.id}/complete", headers=headers, json=body)
    assert response.status_code == 503, response.text
    assert response.json["code"] == "database_unavailable" and "nothing was saved" in response.json["message"]
    monkeypatch.setattr(engine.workflows, "checkout", original)
    admin.dispose()
    assert [i.bpmn_id for i in engine.loan_items(ref)] == ["investigate"]
    assert client.post(f"/api/v1/tasks/{item.id}/complete", headers=headers, json=body).status_code == 200
