"""The process library: designers and auditors read every version, its diagram and steps, and what a new version
changed, in words; nobody else may."""
from __future__ import annotations

import shutil

import pytest

from engine.bootstrap import BUNDLED_BPMN


@pytest.fixture
def deploy_renamed_sign_risk():
    """Deploys version 2 (the risk signature renamed), designed by one person and approved by another (each test
    starts from the bundled versions)."""
    def deploy(engine, tmp_path) -> None:
        folder = tmp_path / "redesign"
        shutil.copytree(BUNDLED_BPMN, folder)
        bpmn = folder / "origination.bpmn"
        bpmn.write_text(bpmn.read_text("utf-8").replace('name="审批签字(风险)"', 'name="风险审批签字"'), "utf-8")
        results = engine.deploy([folder], actor="designer_zheng", approved_by="risk_liu", source="cli")
        assert any(r.process_id == "origination" and r.version == 2 and r.created for r in results)
    return deploy


@pytest.mark.parametrize("path", ["/processes/", "/processes/origination/1", "/processes/origination/1/diagram.bpmn",
                                  "/processes/origination/diff?a=1&b=1"])
def test_only_designers_and_auditors_may_read_the_library(client, auth, path):
    auth.login("cm_wang")
    assert client.get(path).status_code == 403
    auth.logout()
    for username in ("designer_zheng", "auditor_xie"):
        auth.login(username)
        assert client.get(path).status_code == 200, username
        auth.logout()


def test_the_library_link_shows_for_designers_only(client, auth):
    auth.login("cm_wang")
    assert 'href="/processes/"' not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("designer_zheng")
    assert 'href="/processes/"' in client.get("/").get_data(as_text=True)


def test_library_lists_versions_with_designer_approver_and_running_loans(client, auth, engine, loans, tmp_path,
                                                                        deploy_renamed_sign_risk):
    loans.start("cm_wang")  # starts on version 1 and keeps it
    deploy_renamed_sign_risk(engine, tmp_path)
    auth.login("designer_zheng")
    page = client.get("/processes/").get_data(as_text=True)
    assert "Credit origination" in page
    origination = page[page.index('id="process-origination"'):]
    origination = origination[:origination.index("</section>")]
    v2 = origination[origination.index('data-version="2"'):origination.index('data-version="1"')]
    assert "designer_zheng" in v2 and "risk_liu" in v2 and "<td>0</td>" in v2
    v1 = origination[origination.index('data-version="1"'):]
    assert "<td>1</td>" in v1
    assert "/processes/origination/diff?a=1&amp;b=2" in origination


def test_version_page_lists_tasks_with_lane_duty_form_and_due(client, auth):
    auth.login("auditor_xie")
    page = client.get("/processes/origination/1").get_data(as_text=True)
    assert 'data-src="/processes/origination/1/diagram.bpmn"' in page
    row = page[page.index('data-step="committee_vote"'):]
    row = row[:row.index("</tr>")]
    assert "Vote in credit committee" in row and "Committee member" in row
    assert "business_days(committee_vote_business_days)" in row
    assert client.get("/processes/origination/9").status_code == 404


def test_diff_page_says_what_changed_and_marks_it_on_both_diagrams(client, auth, engine, tmp_path,
                                                                  deploy_renamed_sign_risk):
    deploy_renamed_sign_risk(engine, tmp_path)
    auth.login("designer_zheng")
    page = client.get("/processes/origination/diff?a=1&b=2").get_data(as_text=True)
    assert "User task 审批签字(风险) renamed to 风险审批签字" in page
    assert page.count("data-diff-diagram") == 2
    assert page.count("data-marks=\"{&#34;sign_risk&#34;: &#34;changed&#34;}\"") == 2
    assert "script-src 'self'" in client.get("/processes/origination/diff").headers["Content-Security-Policy"]
    assert "<script>" not in page


def test_diff_page_in_chinese(client, auth, engine, tmp_path, deploy_renamed_sign_risk):
    deploy_renamed_sign_risk(engine, tmp_path)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    auth.login("designer_zheng")
    page = client.get("/processes/origination/diff").get_data(as_text=True)
    assert "用户任务 审批签字(风险) 更名为 风险审批签字" in page
    assert "流程库" in page


def test_unknown_versions_are_not_found(client, auth):
    auth.login("designer_zheng")
    assert client.get("/processes/origination/diff?a=1&b=7").status_code == 404
    assert client.get("/processes/nothing/diff").status_code == 404
