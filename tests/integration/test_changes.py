"""Four eyes on every redesign: drafted and submitted by one process designer, decided by another; the CLI and
the API deploy nothing changed without a second person either."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.i18n import translations
from engine.store.models import AuditEvent, ProcessVersion
from policies import DEFAULT_POLICY, parse_policy
from engine.access import PolicyDenied

RENAMED = ('name="调查借款人"', 'name="调查借款人及担保人"')


def renamed_origination(engine) -> dict[str, str]:
    text = engine.current_files()["origination.bpmn"]
    assert RENAMED[0] in text
    return {"origination.bpmn": text.replace(*RENAMED)}


def versions(engine) -> dict[str, int]:
    return {process_id: version for process_id, version, _at in engine.deployed()}


def test_a_change_deploys_only_after_another_designer_approves_it(engine, driver):
    before = versions(engine)
    files = {**engine.current_files(), **renamed_origination(engine)}  # the whole working set, one file edited
    draft = engine.save_change("designer_zheng", files, note="Name the guarantor in the investigation step")
    assert draft.status == "draft" and list(draft.files) == ["origination.bpmn"]  # unchanged files are dropped
    assert draft.errors == 0 and RENAMED[0] in draft.base_files["origination.bpmn"]
    assert versions(engine) == before  # a draft deploys nothing

    submitted = engine.submit_change("designer_zheng", draft.id)
    assert submitted.status == "submitted" and versions(engine) == before

    with pytest.raises(PolicyDenied) as own:
        engine.decide_change("designer_zheng", draft.id, approve=True)
    assert own.value.rule == "SOD-12"
    assert engine.change("designer_zheng", draft.id).status == "submitted" and versions(engine) == before

    approved = engine.decide_change("designer_wu", draft.id, approve=True, reason="Matches the new guideline.")
    assert approved.status == "approved" and approved.reviewer == "designer_wu"
    after = versions(engine)
    assert after["origination"] == before["origination"] + 1
    assert {p: v for p, v in after.items() if p != "origination"} == {p: v for p, v in before.items()
                                                                      if p != "origination"}
    assert [(r.process_id, r.version) for r in approved.deployed if r.created] == [("origination", after["origination"])]
    with engine.db.reading() as session:
        newest = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == "origination")
                                .order_by(ProcessVersion.version.desc()).limit(1))
        assert (newest.designed_by, newest.approved_by) == ("designer_zheng", "designer_wu")
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-4:] == ["change_submitted", "refused", "process_deployed", "change_approved"] or \
        {"change_saved", "change_submitted", "process_deployed", "change_approved"} <= set(actions)
    ref = driver.start()
    assert driver.item(ref, "investigate").name == "调查借款人及担保人"  # new loans take the new version


def test_a_rejection_needs_a_reason_and_deploys_nothing(engine, driver):
    before = versions(engine)
    draft = engine.save_change("designer_zheng", renamed_origination(engine))
    engine.submit_change("designer_zheng", draft.id)
    with pytest.raises(InvalidInput):
        engine.decide_change("designer_wu", draft.id, approve=False, reason="  ")
    rejected = engine.decide_change("designer_wu", draft.id, approve=False, reason="Keep the regulator's wording.")
    assert (rejected.status, rejected.reason) == ("rejected", "Keep the regulator's wording.")
    assert versions(engine) == before
    with pytest.raises(InvalidInput):
        engine.decide_change("designer_wu", draft.id, approve=True)  # decided once
    with pytest.raises(InvalidInput):
        engine.save_change("designer_zheng", renamed_origination(engine), change_id=draft.id)


def test_only_designers_draft_and_only_the_author_edits_or_submits(engine, driver):
    with pytest.raises(NotAllowed):
        engine.save_change("cm_wang", renamed_origination(engine))
    draft = engine.save_change("designer_zheng", renamed_origination(engine))
    with pytest.raises(NotAllowed):
        engine.save_change("designer_wu", renamed_origination(engine), change_id=draft.id)
    with pytest.raises(NotAllowed):
        engine.submit_change("designer_wu", draft.id)
    with pytest.raises(InvalidInput):
        engine.decide_change("designer_wu", draft.id, approve=True)  # not submitted yet
    with pytest.raises(NotFound):
        engine.change("designer_zheng", 999_999)


def test_a_change_with_errors_or_with_nothing_in_it_cannot_be_submitted(engine, driver):
    unchanged = engine.save_change("designer_zheng", engine.current_files())
    assert unchanged.files == {}
    with pytest.raises(InvalidInput, match="changes nothing"):
        engine.submit_change("designer_zheng", unchanged.id)
    text = engine.current_files()["origination.bpmn"]
    broken = text.replace('name="duty" value="investigate"', 'name="dutyx" value="investigate"', 1)
    assert broken != text
    draft = engine.save_change("designer_zheng", {"origination.bpmn": broken})
    assert draft.errors >= 1 and any(p.element == "investigate" for p in draft.problems)
    with pytest.raises(InvalidInput, match="error"):
        engine.submit_change("designer_zheng", draft.id)
    assert engine.change("designer_zheng", draft.id).status == "draft"


@pytest.mark.parametrize("name", ["../etc/passwd.bpmn", "/abs.bpmn", "x.py", "forms/../../a.json", "a/b/c.bpmn"])
def test_file_names_outside_a_process_bundle_are_refused(engine, driver, name):
    with pytest.raises(InvalidInput, match="not a file a process may have"):
        engine.save_change("designer_zheng", {name: "<x/>"})


def test_deploy_refuses_a_change_without_a_second_person(engine, driver, tmp_path):
    redesign = tmp_path / "bpmn"
    import shutil
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    path.write_text(path.read_text().replace(*RENAMED))
    before = versions(engine)
    for actor, approver in ((None, None), ("designer_zheng", None), (None, "designer_wu")):
        with pytest.raises(NotAllowed, match="second person"):
            engine.deploy([redesign], actor=actor, approved_by=approver, source="cli")
    with pytest.raises(PolicyDenied):
        engine.deploy([redesign], actor="designer_zheng", approved_by="designer_zheng", source="cli")
    assert versions(engine) == before
    assert all(not r.created for r in engine.deploy([BUNDLED_BPMN], source="cli"))  # unchanged: needs nobody
    assert any(r.created for r in engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu",
                                                source="cli"))


def test_a_policy_changed_without_a_new_version_number_is_refused(engine, driver, database_url, clock):
    text = Path(DEFAULT_POLICY).read_text()
    changed = parse_policy(text.replace("task_due_days: 3 ", "task_due_days: 4 "))
    assert changed.version == engine.policy.version and changed.sha256 != engine.policy.sha256
    other = build_engine(database_url, clock=clock, policy=changed)
    with pytest.raises(NotAllowed, match="new version number"):
        other.deploy([BUNDLED_BPMN], source="cli")
    with other.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "policy_deployed")) == 1
    other.db.dispose()


def test_a_reused_policy_version_number_is_explained_in_chinese(engine, driver):
    same_number = engine.current_policy_text().replace("task_due_days: 3 ", "task_due_days: 4 ")
    draft = engine.save_change("designer_zheng", {}, note="Four days per task", policy_text=same_number)
    [reused] = [p for p in draft.problems if p.file == "policy.yaml"]
    assert reused.text(translations("zh_CN").gettext) == "版本 2026.3 曾以不同内容发布过；修改后的制度须使用新的版本号"


def test_the_other_designers_are_told_and_the_author_hears_the_decision(engine, driver):
    draft = engine.save_change("designer_zheng", renamed_origination(engine), note="Guarantor too")
    engine.submit_change("designer_zheng", draft.id)
    [told] = [n for n in engine.notifications("designer_wu", "en") if n.kind == "change_submitted"]
    assert told.link == f"/studio/changes/{draft.id}" and "designer_zheng" in told.text and "Guarantor too" in told.text
    assert not [n for n in engine.notifications("designer_zheng", "en") if n.kind == "change_submitted"]
    engine.decide_change("designer_wu", draft.id, approve=False, reason="Keep the wording.")
    [heard] = [n for n in engine.notifications("designer_zheng", "en") if n.kind == "change_decided"]
    assert heard.link == f"/studio/changes/{draft.id}" and "Keep the wording." in heard.text


def test_a_new_policy_goes_through_the_same_four_eyes_and_every_worker_switches(engine, driver, database_url,
                                                                                 clock):
    text = engine.current_policy_text()
    assert text is not None and 'version: "2026.3"' in text
    same_number = text.replace("task_due_days: 3 ", "task_due_days: 4 ")
    assert same_number != text
    draft = engine.save_change("designer_zheng", {}, note="Four days per task", policy_text=same_number)
    assert any(p.file == "policy.yaml" and "new version number" in p.message for p in draft.problems)
    with pytest.raises(InvalidInput):
        engine.submit_change("designer_zheng", draft.id)
    new_policy = same_number.replace('version: "2026.3"', 'version: "2026.4"')
    draft = engine.save_change("designer_zheng", {}, policy_text=new_policy, change_id=draft.id)
    assert draft.errors == 0 and draft.policy_text == new_policy
    other_worker = build_engine(database_url, clock=clock)  # started before the change: still on 2026.3
    assert other_worker.policy.version == "2026.3"
    engine.submit_change("designer_zheng", draft.id)
    assert engine.policy.version == "2026.3"  # nothing applies before approval
    engine.decide_change("designer_wu", draft.id, approve=True, reason="Agreed with the credit department.")
    assert engine.policy.version == "2026.4" and engine.policy.params["task_due_days"] == 4
    started_now = build_engine(database_url, clock=clock)
    assert started_now.policy.version == "2026.4"  # a worker started now
    started_now.db.dispose()
    clock.advance(seconds=6)
    ref = other_worker.start_loan("cm_wang", {"borrower": "恒达精密机械有限公司", "product": "working_capital",
                                              "amount": 1_500_000, "term_months": 12}, source="cli")
    assert other_worker.policy.version == "2026.4" and ref  # the running worker switched at its next command
    with engine.db.reading() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy_deployed")
                                .order_by(AuditEvent.id.desc())).first()
        assert (event.detail["version"], event.detail["designed_by"], event.detail["approved_by"]) == \
            ("2026.4", "designer_zheng", "designer_wu")
    other_worker.db.dispose()


def test_the_approver_reads_what_the_change_would_have_done_to_the_recorded_loans(engine, driver):
    from .test_replay import lower_dual_signature, lower_policy_ceiling

    small = driver.start(amount=500_000)
    driver.through_approval_dual(small)
    middle = driver.start(amount=2_000_000)
    driver.through_approval_dual(middle)
    files = lower_dual_signature({"approval_tier.dmn": engine.current_files()["approval_tier.dmn"]})
    draft = engine.save_change("designer_zheng", files, policy_text=lower_policy_ceiling())
    assert draft.errors == 0, draft.problems
    submitted = engine.submit_change("designer_zheng", draft.id)
    replay = submitted.replay
    assert (replay["total"], replay["same"], replay["counts"].get("tier")) == (2, 1, 1)
    [(ref, process_id, _version, _status, differences)] = replay["loans"]
    assert (ref, process_id) == (middle, "origination")
    assert any(kind == "tier" and params["new"] == "branch_committee" for kind, _template, params in differences)
    assert any("1 of 2 loans" in (template % params) for _kind, template, params in replay["summary"])
    assert submitted.replayed_at is not None
