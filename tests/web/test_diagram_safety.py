"""A diagram is served as data: markup hidden in a BPMN file never runs in the app's origin."""
from __future__ import annotations


def test_diagrams_are_attachments_in_a_sandbox(client, auth, engine, loans):
    ref = loans.start()
    instance = engine.loan(ref).instances[0]
    auth.login("cm_wang")
    response = client.get(f"/loans/{ref}/instances/{instance.id}/diagram.bpmn")
    assert response.status_code == 200 and "<bpmn:definitions" in response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    auth.logout()
    auth.login("auditor_xie")
    audited = client.get(f"/audit/versions/{instance.version_id}/diagram.bpmn")
    assert audited.status_code == 200 and audited.headers["Content-Type"].startswith("text/plain")
    assert "sandbox" in audited.headers["Content-Security-Policy"]
