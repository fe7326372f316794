"""The studio's change pages: the author submits, another designer approves or rejects; nobody else decides."""
from __future__ import annotations

import pytest

RENAMED = ('name="调查借款人"', 'name="调查借款人及担保人"')


def draft(engine) -> int:
    files = {"origination.bpmn": engine.current_files()["origination.bpmn"].replace(*RENAMED)}
    return engine.save_change("designer_zheng", files, note="Guarantor named in the investigation").id


@pytest.mark.usefixtures("bundled_afterwards")
def test_the_author_submits_and_another_designer_approves_in_the_browser(client, auth, engine, loans):
    loans.start()
    number = draft(engine)
    auth.login("designer_zheng")
    page = client.get(f"/studio/changes/{number}").get_data(as_text=True)
    assert "origination.bpmn" in page and "Submit for approval" in page and "Approve and deploy" not in page
    assert auth.post(f"/studio/changes/{number}/submit").status_code == 302
    page = client.get(f"/studio/changes/{number}").get_data(as_text=True)
    assert "Awaiting approval" in page and "you cannot approve your own" in page
    refused = auth.post(f"/studio/changes/{number}/decide", data={"decision": "approve"}, follow_redirects=True)
    assert "SOD-12" in refused.get_data(as_text=True) or "may not" in refused.get_data(as_text=True)
    assert engine.change("designer_zheng", number).status == "submitted"
    auth.logout()

    auth.login("designer_wu")
    listed = client.get("/studio/changes/").get_data(as_text=True)
    assert f"/studio/changes/{number}" in listed
    page = client.get(f"/studio/changes/{number}").get_data(as_text=True)
    assert "Approve and deploy" in page and "Reject" in page
    assert "调查借款人及担保人" in page and "change-changed" in page and "data-diff-diagram" in page  # the diff
    assert "What this change would have done to the recorded loans" in page and "would have gone differently" in page
    before = {p: v for p, v, _ in engine.deployed()}
    done = auth.post(f"/studio/changes/{number}/decide", data={"decision": "approve", "reason": "Fine."},
                     follow_redirects=True).get_data(as_text=True)
    assert f"Change {number} approved and deployed." in done
    assert f"deployed as version {before['origination'] + 1}" in done
    assert {p: v for p, v, _ in engine.deployed()}["origination"] == before["origination"] + 1


def test_a_rejection_without_a_reason_is_refused_and_named(client, auth, engine):
    number = draft(engine)
    engine.submit_change("designer_zheng", number)
    auth.login("designer_wu")
    page = auth.post(f"/studio/changes/{number}/decide", data={"decision": "reject", "reason": ""},
                     follow_redirects=True).get_data(as_text=True)
    assert "Say why the change is rejected" in page and engine.change("designer_wu", number).status == "submitted"
    auth.post(f"/studio/changes/{number}/decide", data={"decision": "reject", "reason": "Keep the wording."})
    assert engine.change("designer_wu", number).status == "rejected"


def test_credit_officers_never_see_changes_and_auditors_only_read(client, auth, engine):
    number = draft(engine)
    engine.submit_change("designer_zheng", number)
    auth.login("cm_wang")
    assert client.get("/studio/changes/").status_code == 403
    assert auth.post(f"/studio/changes/{number}/decide", data={"decision": "approve"}).status_code == 403
    auth.logout()
    auth.login("auditor_xie")
    page = client.get(f"/studio/changes/{number}").get_data(as_text=True)
    assert "origination.bpmn" in page and "Approve and deploy" not in page
    assert auth.post(f"/studio/changes/{number}/decide", data={"decision": "approve"}).status_code == 403
    assert engine.change("auditor_xie", number).status == "submitted"


@pytest.mark.usefixtures("bundled_afterwards")
def test_a_designer_moves_a_chosen_loan_to_the_new_version_with_a_reason(client, auth, engine, loans, tmp_path):
    import shutil

    from engine.bootstrap import BUNDLED_BPMN
    ref = loans.start()
    folder = tmp_path / "redesign"
    shutil.copytree(BUNDLED_BPMN, folder)
    path = folder / "origination.bpmn"
    path.write_text(path.read_text(encoding="utf-8").replace('name="拟定并签订合同"', 'name="拟定、审核并签订合同"'),
                    encoding="utf-8")
    engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    new = {p: v for p, v, _ in engine.deployed()}["origination"]
    auth.login("designer_zheng")
    page = client.get("/studio/migrate/origination").get_data(as_text=True)
    assert ref in page and f'value="{new}"' in page
    refused = auth.post("/studio/migrate/origination", data={"loan": ref, "version": str(new), "reason": ""},
                        follow_redirects=True).get_data(as_text=True)
    assert "Say why these loans move" in refused
    moved = auth.post("/studio/migrate/origination", data={"loan": ref, "version": str(new), "reason": "Wording"},
                      follow_redirects=True).get_data(as_text=True)
    assert f"{ref} moved from version" in moved and f"to {new}." in moved
    auth.logout()
    auth.login("cm_wang")
    assert client.get("/studio/migrate/origination").status_code == 403


def test_a_policy_change_is_edited_in_the_studio_and_a_reused_version_number_is_named(client, auth, engine):
    auth.login("designer_zheng")
    created = auth.post("/studio/changes/new")
    assert created.status_code == 302
    number = int(created.headers["Location"].split("/studio/changes/")[1].split("#")[0])
    page = client.get(f"/studio/changes/{number}").get_data(as_text=True)
    assert 'version: &#34;2026.3&#34;' in page or 'version: "2026.3"' in page
    text = engine.current_policy_text()
    same_number = text.replace("task_due_days: 3 ", "task_due_days: 4 ")
    auth.post(f"/studio/changes/{number}/policy", data={"policy_text": same_number})
    page = client.get(f"/studio/changes/{number}").get_data(as_text=True)
    assert "policy.yaml" in page and "needs a new version number" in page and "-  task_due_days: 3" in page
    renumbered = same_number.replace('version: "2026.3"', 'version: "2026.7"')
    auth.post(f"/studio/changes/{number}/policy", data={"policy_text": renumbered})
    page = client.get(f"/studio/changes/{number}").get_data(as_text=True)
    assert "No errors" in page and '+version: "2026.7"' in page.replace("&#34;", '"')
    assert engine.policy.version == "2026.3"
