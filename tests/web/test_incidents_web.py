"""Incidents in the browser and the API: administrators and process designers see them and retry; nobody else."""
from __future__ import annotations

import shutil

import pytest

from engine.bootstrap import BUNDLED_BPMN

from ..integration.conftest import FORMS
from ..integration.test_incidents import poisoned_bundle

STEPS = (("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"), ("sign_risk", "risk_liu"),
         ("prepare_contract", "cm_wang"), ("register_collateral", "coll_hu"), ("review_disbursement", "disb_xu"),
         ("execute_payment", "acct_ma"))


@pytest.fixture
def timer_incident(engine, loans, clock, tmp_path, bundled_afterwards):
    """A disbursed loan on a redesign whose step after the first inspection timer fails, then the fixed version."""
    engine.deploy([poisoned_bundle(tmp_path)], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = loans.start()
    for step, user in STEPS:
        loans.do(ref, step, user, **FORMS[step])
    loans.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    clock.advance(days=16)
    assert engine.tick() == 0
    [incident] = engine.incidents()
    return ref, incident


def test_designer_sees_the_incident_with_a_link_to_the_step_and_retries_it(client, auth, engine, timer_incident):
    ref, incident = timer_incident
    auth.login("designer_zheng")
    page = client.get("/incidents/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert ref in page.text and "Check exposure ratio" in page.text and "division by zero" in page.text
    link = f"/loans/{ref}?incident={incident.id}#instance-{incident.instance_id}"
    assert link.replace("&", "&amp;") in page.text or link in page.text
    loan_page = client.get(f"/loans/{ref}?incident={incident.id}", headers={"Accept-Language": "en"})
    assert "check_exposure" in loan_page.text and "incident-banner" in loan_page.text

    retried = auth.post(f"/incidents/{incident.id}/retry", {"to_latest": "yes"}, headers={"Accept-Language": "en"})
    assert retried.status_code == 302
    assert "resolved" in client.get("/incidents/?status=resolved", headers={"Accept-Language": "en"}).text
    assert engine.incidents() == []
    assert {i.bpmn_id for i in engine.loan_items(ref)} == {"lead_inspection", "assist_inspection"}


def test_the_api_lists_and_retries_for_staff_only(client, engine, timer_incident):
    ref, incident = timer_incident
    designer = {"Authorization": f"Bearer {engine.issue_token('designer_zheng')}", "Accept-Language": "en"}
    admin = {"Authorization": f"Bearer {engine.issue_token('admin')}", "Accept-Language": "en"}
    officer = {"Authorization": f"Bearer {engine.issue_token('cm_wang')}", "Accept-Language": "en"}
    listed = client.get("/api/v1/incidents", headers=designer).json["incidents"]
    assert [(i["loan"], i["kind"], i["step"], i["attempts"]) for i in listed] == [(ref, "timer", "check_exposure", 1)]
    assert listed[0]["diagram_url"].startswith(f"/loans/{ref}")
    assert client.get("/api/v1/incidents", headers=admin).json["incidents"][0]["diagram_url"] is None
    assert client.get("/api/v1/incidents", headers=officer).status_code == 403
    assert client.post(f"/api/v1/incidents/{incident.id}/retry", headers=officer, json={}).status_code == 403
    bad = client.get("/api/v1/incidents?status=closed", headers=designer)
    assert bad.status_code == 400 and "status must be one of" in bad.json["message"]
    again = client.post(f"/api/v1/incidents/{incident.id}/retry", headers=admin, json={"to_latest": False})
    assert again.status_code == 200 and again.json["status"] == "open" and again.json["attempts"] == 2
    fixed = client.post(f"/api/v1/incidents/{incident.id}/retry", headers=admin, json={"to_latest": True})
    assert fixed.status_code == 200 and fixed.json["status"] == "resolved"
    assert client.get("/api/v1/incidents?status=all", headers=designer).json["incidents"][0]["status"] == "resolved"


def test_officers_do_not_see_incidents(client, auth):
    auth.login("cm_wang")
    assert client.get("/incidents/").status_code == 403
    assert "/incidents/" not in client.get("/").text


@pytest.mark.usefixtures("bundled_afterwards")
def test_a_failed_completion_is_a_clear_error_and_shows_on_the_incident_page(client, auth, engine, loans, tmp_path):
    folder = tmp_path / "redesign"
    shutil.copytree(BUNDLED_BPMN, folder)
    path = folder / "origination.bpmn"
    condition = 'recommendation == "proceed"'
    path.write_text(path.read_text(encoding="utf-8").replace(condition, condition + " and amount / 0 &gt; 0"),
                    encoding="utf-8")
    engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = loans.start()
    item = loans.ready(ref, "investigate", "cm_wang")
    auth.login("cm_wang")
    form = {"findings": "ok", "repayment_source": "cash", "recommendation": "proceed"}
    failed = auth.post(f"/tasks/{item.id}/complete", form, headers={"Accept-Language": "en"})
    assert failed.status_code == 422 and "division by zero" in failed.text
    assert [i.bpmn_id for i in engine.loan_items(ref)] == ["investigate"]
    auth.logout()
    auth.login("designer_zheng")
    page = client.get("/incidents/", headers={"Accept-Language": "en"}).text
    assert ref in page and "Task completion" in page and "Retry now" not in page
