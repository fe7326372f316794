"""/api/v1/changes: a designer drafts and submits, another approves; the author is refused, as anyone else."""
from __future__ import annotations

import pytest

RENAMED = ('name="调查借款人"', 'name="调查借款人及担保人"')


@pytest.fixture
def token(engine):
    def issue(username: str) -> dict:
        return {"Authorization": f"Bearer {engine.issue_token(username)}"}
    return issue


def renamed(engine) -> dict:
    return {"origination.bpmn": engine.current_files()["origination.bpmn"].replace(*RENAMED)}


@pytest.mark.usefixtures("bundled_afterwards")
def test_a_change_goes_through_four_eyes_over_the_api(client, engine, token):
    before = {p: v for p, v, _ in engine.deployed()}
    created = client.post("/api/v1/changes", json={"files": renamed(engine), "note": "Guarantor too"},
                          headers=token("designer_zheng"))
    assert created.status_code == 201, created.get_json()
    change = created.get_json()
    assert change["status"] == "draft" and change["files"] == ["origination.bpmn"] and change["problems"] == []
    number = change["id"]
    assert client.post(f"/api/v1/changes/{number}/submit", headers=token("designer_zheng")).status_code == 200

    own = client.post(f"/api/v1/changes/{number}/approve", json={}, headers=token("designer_zheng"))
    assert own.status_code == 403 and "SOD-12" in own.get_data(as_text=True) or own.status_code == 403
    assert client.post(f"/api/v1/changes/{number}/approve", json={},
                       headers=token("cm_wang")).status_code == 403
    approved = client.post(f"/api/v1/changes/{number}/approve", json={"reason": "OK"},
                           headers=token("designer_wu"))
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "approved" and body["reviewer"] == "designer_wu"
    assert {"process_id": "origination", "version": before["origination"] + 1, "created": True} in body["deployed"]
    listed = client.get("/api/v1/changes?status=approved", headers=token("auditor_xie")).get_json()["changes"]
    assert [c["id"] for c in listed] == [number]


def test_changes_are_not_for_credit_officers_and_bad_files_are_named(client, engine, token):
    assert client.get("/api/v1/changes", headers=token("cm_wang")).status_code == 403
    refused = client.post("/api/v1/changes", json={"files": renamed(engine)}, headers=token("cm_wang"))
    assert refused.status_code == 403
    bad = client.post("/api/v1/changes", json={"files": {"../x.bpmn": "<x/>"}}, headers=token("designer_zheng"))
    assert bad.status_code == 400 and "../x.bpmn" in bad.get_json()["message"]
    rejected = client.post("/api/v1/changes", json={"files": "origination.bpmn"}, headers=token("designer_zheng"))
    assert rejected.status_code == 400


def test_a_change_with_an_error_is_listed_with_its_element_and_cannot_be_submitted(client, engine, token):
    text = engine.current_files()["origination.bpmn"]
    broken = {"origination.bpmn": text.replace('name="duty" value="investigate"', 'name="dutyx" value="x"', 1)}
    change = client.post("/api/v1/changes", json={"files": broken}, headers=token("designer_zheng")).get_json()
    assert any(p["element"] == "investigate" and p["severity"] == "error" for p in change["problems"])
    submitted = client.post(f"/api/v1/changes/{change['id']}/submit", headers=token("designer_zheng"))
    assert submitted.status_code == 400 and "investigate" in submitted.get_json()["message"]


XXE = ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="origination">'
       '<documentation>&x;</documentation></process></definitions>')


@pytest.mark.parametrize("hostile,named", [
    ({"origination.bpmn": XXE}, "DOCTYPE and ENTITY declarations are not allowed"),
    ("script-import", "import"),
])
def test_a_hostile_file_is_refused_with_a_clear_message_and_deploys_nothing(client, engine, token, hostile, named):
    before = {p: v for p, v, _ in engine.deployed()}
    if hostile == "script-import":
        text = engine.current_files()["origination.bpmn"]
        marker = "<bpmn:script>"
        assert marker in text
        hostile = {"origination.bpmn": text.replace(marker, marker + "import os\n", 1)}
    change = client.post("/api/v1/changes", json={"files": hostile}, headers=token("designer_zheng")).get_json()
    errors = [p for p in change["problems"] if p["severity"] == "error"]
    assert errors and any(named in p["message"] for p in errors), change["problems"]
    submitted = client.post(f"/api/v1/changes/{change['id']}/submit", headers=token("designer_zheng"))
    assert submitted.status_code == 400
    assert {p: v for p, v, _ in engine.deployed()} == before


def test_a_fifty_megabyte_upload_is_refused_before_anything_is_stored(client, engine, token):
    huge = {"files": {"origination.bpmn": "<x/>" + " " * (50 * 1024 * 1024)}}
    response = client.post("/api/v1/changes", json=huge, headers=token("designer_zheng"))
    assert response.status_code == 413 and response.get_json()["code"] == "too_large"
    assert "too large" in response.get_json()["message"]
    assert engine.changes("designer_zheng") == []
