"""The modeler's page and JSON endpoints: only process designers; Check answers each problem with its file, line,
element, severity and rule; Save draft makes a draft change; the CSRF token is required."""
from __future__ import annotations

import json
import re

import pytest

from .webtest_helpers import csrf_token

NO_FORM = ('<spiffworkflow:property name="form" value="forms/review.schema.json" />', "")


def post_json(client, path: str, body: dict, token: str | None = "page"):
    headers = {"X-CSRFToken": csrf_token(client, "/")} if token == "page" else {}
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="modeler-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


@pytest.mark.parametrize("path", ["/studio/edit/origination"])
def test_only_process_designers_open_the_modeler(client, auth, path):
    assert client.get(path).status_code == 302  # to the sign-in page
    auth.login("cm_wang")
    assert client.get(path).status_code == 403
    refused = post_json(client, "/studio/api/check", {"files": {"origination.bpmn": ""}})
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    assert post_json(client, "/studio/api/drafts", {"files": {"origination.bpmn": ""}}).status_code == 403
    assert "/studio/edit/" not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("designer_zheng")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/studio/edit/origination"' in home and ">Design<" in home
    assert client.get(path).status_code == 200
    assert client.get("/studio/edit/no_such_process").status_code == 404
    library = client.get("/processes/").get_data(as_text=True)
    assert 'href="/studio/edit/origination"' in library and 'href="/studio/edit/post_loan"' in library


def test_the_page_hands_the_modeler_its_files_the_policys_duties_and_the_forms(client, auth, engine):
    auth.login("designer_zheng")
    response = client.get("/studio/edit/origination")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    data = page_data(response.get_data(as_text=True))
    assert data["bpmn"]["name"] == "origination.bpmn"
    assert data["bpmn"]["xml"] == engine.current_files()["origination.bpmn"]
    assert [f["name"] for f in data["dmn"]] == ["approval_tier.dmn", "entrusted_payment.dmn"]
    duties = {d["id"] for d in data["settings"]["duties"]}
    assert {"review", "approve", "sign_business", "investigate"} <= duties
    assert "forms/review.schema.json" in data["settings"]["forms"]
    assert data["settings"]["roles"]["credit_reviewer"] == "授信审查岗"
    assert data["settings"]["labels"]["duty"] == "Duty"
    assert data["urls"]["check"] == "/studio/api/check"


def test_check_lists_each_problem_with_file_line_element_severity_and_rule(client, auth, engine):
    auth.login("designer_zheng")
    original = engine.current_files()["origination.bpmn"]
    clean = post_json(client, "/studio/api/check", {"files": {"origination.bpmn": original}})
    assert clean.status_code == 200
    assert [p for p in clean.get_json()["problems"] if p["severity"] == "error"] == []

    broken = original.replace(*NO_FORM)
    answer = post_json(client, "/studio/api/check", {"files": {"origination.bpmn": broken}})
    assert answer.status_code == 200
    problems = answer.get_json()["problems"]
    errors = [p for p in problems if p["severity"] == "error"]
    assert errors, problems
    first = next(p for p in errors if p["element"] == "review")
    assert set(first) == {"file", "line", "element", "message", "severity", "rule"}
    assert first["file"] == "origination.bpmn" and isinstance(first["line"], int)
    assert "form" in first["message"]
    assert engine.changes("designer_zheng") == []  # a check stores nothing


def test_save_draft_makes_a_draft_change_and_answers_its_problems(client, auth, engine):
    auth.login("designer_zheng")
    original = engine.current_files()["origination.bpmn"]
    renamed = original.replace('name="调查借款人"', 'name="调查借款人及担保人"')
    answer = post_json(client, "/studio/api/drafts", {"files": {"origination.bpmn": renamed},
                                                      "note": "担保人一并调查"})
    assert answer.status_code == 201
    body = answer.get_json()
    change = body["change"]
    assert change["status"] == "draft" and change["author"] == "designer_zheng"
    assert change["files"] == ["origination.bpmn"]
    assert body["url"] == f"/studio/changes/{change['id']}"
    assert [p for p in body["problems"] if p["severity"] == "error"] == []
    stored = engine.change("designer_zheng", change["id"])
    assert stored.note == "担保人一并调查" and "调查借款人及担保人" in stored.files["origination.bpmn"]

    again = post_json(client, "/studio/api/drafts", {"files": {"origination.bpmn": renamed.replace(*NO_FORM)},
                                                     "change_id": change["id"]})
    assert again.status_code == 201 and again.get_json()["change"]["id"] == change["id"]
    assert any(p["element"] == "review" and p["severity"] == "error" for p in again.get_json()["problems"])


def test_bad_requests_are_refused_with_a_message(client, auth):
    auth.login("designer_zheng")
    for body in ({}, {"files": []}, {"files": {"origination.bpmn": 3}}, {"files": {"a.bpmn": "x"}, "change_id": "1"}):
        answer = post_json(client, "/studio/api/check", body)
        assert answer.status_code == 400, body
        assert answer.get_json()["code"] == "invalid_input" and answer.get_json()["message"]
    refused = post_json(client, "/studio/api/drafts", {"files": {"../etc/passwd": "x"}})
    assert refused.status_code == 400 and "not a file a process may have" in refused.get_json()["message"]
    unsigned = post_json(client, "/studio/api/drafts", {"files": {"origination.bpmn": "x"}}, token=None)
    assert unsigned.status_code == 400 and unsigned.get_json()["code"] == "csrf_failed"
    too_large = post_json(client, "/studio/api/check", {"files": {"origination.bpmn": "x" * 2_000_000}})
    assert too_large.status_code == 413 and "MB" in too_large.get_json()["message"]
