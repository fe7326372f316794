"""Lint: redesigns that deploy but would stall a loan or let one person do both sides of a pair are named, on the
element, with the rule that found them; the bundled processes give none."""
from __future__ import annotations

import pytest
from lxml import etree

from engine.bootstrap import BUNDLED_BPMN
from engine.i18n import translations
from engine.roles import LANE_ROLES
from engine.runtime.conditions import COVERED, OPEN, UNKNOWN, all_false
from engine.runtime.deadlines import literal
from engine.runtime.lint import Staff, lint
from engine.runtime.parser import SourceFile, parse_bundle
from engine.runtime.specs import collect_files
from policies import default_policy

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
POLICY = default_policy()
EVERYONE = Staff({role: 2 for role in LANE_ROLES}, {role: 1 for role in LANE_ROLES})


def findings(edit=None, file="origination.bpmn", staff=EVERYONE, rule=None):
    """Lint the bundled processes after `edit(root)` changed one of them."""
    files = collect_files([BUNDLED_BPMN])
    if edit is not None:
        for i, f in enumerate(files):
            if f.name == file:
                root = etree.fromstring(f.data)
                edit(root)
                files[i] = SourceFile(f.name, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    found = lint(parse_bundle(files), POLICY, staff)
    return [p for p in found if rule is None or p.rule == rule]


def node(root, element_id):
    return root.xpath("//*[@id=$id]", id=element_id)[0]


def set_property(root, element_id, name, value):
    props = node(root, element_id).find(f".//{{{SPIFF}}}properties")
    for prop in props.findall(f"{{{SPIFF}}}property"):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(props, f"{{{SPIFF}}}property", name=name, value=value)


def condition(root, flow_id, text):
    flow = node(root, flow_id)
    for old in flow.findall(f"{{{BPMN}}}conditionExpression"):
        flow.remove(old)
    etree.SubElement(flow, f"{{{BPMN}}}conditionExpression").text = text


def where(problems):
    return {(p.element, p.severity) for p in problems}


def test_the_bundled_processes_have_no_findings():
    assert findings() == []


# ---------------------------------------------------------------- unreachable

def test_a_step_nobody_connects_is_unreachable():
    def edit(root):
        process = node(root, "origination")
        etree.SubElement(process, f"{{{BPMN}}}manualTask", id="forgotten", name="Forgotten step")

    found = findings(edit, rule="unreachable")
    assert where(found) == {("forgotten", "warning")}
    assert found[0].file == "origination.bpmn" and found[0].line


def test_a_loop_with_no_way_out_is_an_error():
    def edit(root):  # after fulfilling conditions the flow comes back to the same step, for ever
        node(root, "flow_conditions_fulfilled").set("targetRef", "fulfil_conditions")

    assert ("fulfil_conditions", "error") in where(findings(edit, rule="unreachable"))


def test_a_parallel_join_waiting_for_a_branch_that_never_comes_is_an_error():
    def edit(root):
        process = node(root, "origination")
        etree.SubElement(process, f"{{{BPMN}}}manualTask", id="orphan", name="Orphan")
        etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", id="flow_orphan", sourceRef="orphan",
                         targetRef="contract_join")

    found = findings(edit, rule="unreachable")
    assert ("contract_join", "error") in where(found) and ("orphan", "warning") in where(found)


# ---------------------------------------------------------------- gateway-no-default

def _tier_gateway(first, second):
    def edit(root):
        del node(root, "tier_gateway").attrib["default"]
        condition(root, "flow_dual_signature", first)
        condition(root, "flow_committee", second)
    return edit


def test_conditions_that_can_all_be_false_with_no_default_are_an_error():
    found = findings(_tier_gateway("amount < 3", "amount > 5"), rule="gateway-no-default")
    assert where(found) == {("tier_gateway", "error")}
    assert "amount" in found[0].message and "3" in found[0].message


def test_conditions_the_prover_cannot_read_with_no_default_are_a_warning():
    found = findings(_tier_gateway('approval_tier == "dual_signature"', 'approval_tier == "branch_committee"'),
                     rule="gateway-no-default")
    assert where(found) == {("tier_gateway", "warning")}


def test_conditions_that_cover_every_value_need_no_default():
    assert findings(_tier_gateway("amount <= dual_investigation_threshold", "amount > dual_investigation_threshold"),
                    rule="gateway-no-default") == []


def test_choices_of_the_form_before_the_gateway_count_as_every_value():
    def edit(root):  # review's form offers pass, reject, return_for_supplement: dropping one leaves a hole
        flow = node(root, "review_outcome")
        target = next(f for f in root.iter(f"{{{BPMN}}}sequenceFlow") if f.get("sourceRef") == "review_outcome"
                      and "reject" in (f.findtext(f"{{{BPMN}}}conditionExpression") or ""))
        target.getparent().remove(target)
        assert flow is not None

    found = findings(edit, rule="gateway-no-default")
    assert where(found) == {("review_outcome", "error")} and "reject" in found[0].message


@pytest.mark.parametrize("conditions, expected", [
    (["amount > 5", "amount < 3"], OPEN),
    (["amount > 5", "amount <= 5"], COVERED),
    (["3 < x < 5", "x >= 5 or x <= 3"], COVERED),
    (['rating == "a"', 'rating != "a"'], COVERED),
    (['rating == "a"', 'rating == "b"'], UNKNOWN),
    (["paid", "not paid"], COVERED),
    (["ok == True", "ok == False"], COVERED),
    (["helper(x)"], UNKNOWN),
    (["x > 0.1", "x < 0.1"], OPEN),
    (["x >= 1e400", "x < 1e400"], UNKNOWN),
])
def test_the_prover(conditions, expected):
    assert all_false(conditions)[0] == expected


# ---------------------------------------------------------------- nobody-can-perform

def test_a_task_in_a_lane_the_policy_never_lets_do_its_duty_is_an_error():
    found = findings(lambda root: set_property(root, "review", "duty", "approve"), rule="nobody-can-perform")
    assert where(found) == {("review", "error")}
    assert "credit_reviewer" in found[0].message


def test_a_role_nobody_holds_makes_its_tasks_errors():
    staff = Staff({**EVERYONE.holders, "credit_reviewer": 0}, EVERYONE.head_office)
    assert where(findings(staff=staff, rule="nobody-can-perform")) == {("review", "error"),
                                                                       ("extension_review", "error")}


def test_committee_roles_with_nobody_at_head_office_are_a_warning():
    staff = Staff(EVERYONE.holders, {**EVERYONE.head_office, "committee_member": 0})
    assert where(findings(staff=staff, rule="nobody-can-perform")) == {("committee_vote", "warning"),
                                                                       ("extension_committee_vote", "warning")}


def test_without_a_staff_snapshot_only_the_policy_is_checked():
    assert findings(staff=None) == []


# ---------------------------------------------------------------- pair-one-person

def test_dual_investigation_drawn_as_the_same_duty_twice():
    found = findings(lambda root: set_property(root, "assist_investigation", "duty", "investigate"),
                     rule="pair-one-person")
    assert len(found) == 1 and found[0].severity == "warning"
    assert "investigate" in found[0].message and "assist_investigation" in found[0].message
    assert "SOD-02" in found[0].message


def test_both_signatures_as_one_duty_are_kept_apart_by_the_policy():
    assert findings(lambda root: set_property(root, "sign_business", "duty", "approve"), rule="pair-one-person") == []


def test_the_same_assignee_on_both_sides_of_a_pair():
    found = findings(lambda root: set_property(root, "review", "assignee", "originator"), rule="pair-one-person")
    assert where(found) == {("review", "warning")}
    assert "investigate" in found[0].message and "SOD-01" in found[0].message


def test_a_step_assigned_to_the_originator_whom_the_policy_bars():
    found = findings(lambda root: set_property(root, "lead_inspection", "assignee", "originator"), file="post_loan.bpmn",
                     rule="pair-one-person")
    assert where(found) == {("lead_inspection", "warning")}
    rules = sorted(rule for p in found for rule in ("SOD-05", "SOD-07") if rule in p.message)
    assert rules == ["SOD-05", "SOD-07"]  # barred as the originator, and the assistant is the originator too


def test_steps_on_two_exclusive_branches_are_not_one_path():
    assert findings(lambda root: set_property(root, "execute_entrusted_payment", "assignee", "x"),
                    rule="pair-one-person") == []


# ---------------------------------------------------------------- impossible-deadline

@pytest.mark.parametrize("due, severity", [("P0D", "warning"), ("business_days(0)", "warning"),
                                           ("P400D", "warning"), ("business_days(300)", "warning"),
                                           ("business_days(3000)", "error")])
def test_a_due_the_engine_cannot_honour(due, severity):
    found = findings(lambda root: set_property(root, "review", "due", due), rule="impossible-deadline")
    assert where(found) == {("review", severity)}


def test_reasonable_dues_pass():
    assert findings(lambda root: set_property(root, "review", "due", "business_days(committee_vote_business_days)"),
                    rule="impossible-deadline") == []


def test_a_boundary_timer_that_ends_the_step_before_it_falls_due():
    found = findings(lambda root: set_property(root, "chair_veto", "due", "P3D"), rule="impossible-deadline")
    assert where(found) == {("chair_veto_timeout", "warning")}


def test_a_timer_of_zero_fires_at_once():
    def edit(root):
        node(root, "chair_veto_timeout").find(f".//{{{BPMN}}}timeDuration").text = '"PT0S"'

    assert where(findings(edit, rule="impossible-deadline")) == {("chair_veto_timeout", "warning")}


def test_a_process_nobody_supervises_escalates_to_nobody():
    def edit(root):
        node(root, "classification").set("id", "reclassification")

    found = findings(edit, file="classification.bpmn", rule="impossible-deadline")
    assert where(found) == {("reclassification", "warning")}


# ---------------------------------------------------------------- a small process of its own

SMALL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="origination" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_cm" name="customer_manager"><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="check" name="Check the file">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="duty" value="investigate" />
        <spiffworkflow:property name="form" value="forms/check.json" />
        <spiffworkflow:property name="due" value="P2D" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="too_late" attachedToRef="check" cancelActivity="true">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="done" />
    <bpmn:endEvent id="expired" />
    <bpmn:subProcess id="on_cancel" triggeredByEvent="true">
      <bpmn:startEvent id="cancel_start" isInterrupting="true">
        <bpmn:messageEventDefinition messageRef="cancelled" />
      </bpmn:startEvent>
      <bpmn:scriptTask id="note_cancel" name="Note"><bpmn:script>noted = True</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="cancel_end" />
      <bpmn:sequenceFlow id="c1" sourceRef="cancel_start" targetRef="note_cancel" />
      <bpmn:sequenceFlow id="c2" sourceRef="note_cancel" targetRef="cancel_end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="done" />
    <bpmn:sequenceFlow id="f3" sourceRef="too_late" targetRef="expired" />
  </bpmn:process>
  <bpmn:message id="cancelled" name="cancelled" />
</bpmn:definitions>
"""
FORM = b'{"type": "object", "properties": {"ok": {"type": "boolean"}}}'


def small_findings(text=SMALL):
    bundle = parse_bundle([SourceFile("small.bpmn", text.encode()), SourceFile("forms/check.json", FORM)])
    return lint(bundle, POLICY, EVERYONE)


def test_boundary_events_and_event_subprocesses_count_as_reachable():
    assert small_findings() == []


def test_an_event_subprocess_that_never_ends_is_an_error():
    found = small_findings(SMALL.replace('targetRef="cancel_end"', 'targetRef="note_cancel"'))
    assert ("note_cancel", "error") in where(found)


def test_a_boundary_timer_after_the_due_leaves_the_deadline_working():
    assert small_findings(SMALL.replace('"P5D"', '"P1D"'))[0].element == "too_late"


def test_a_repeating_timer_with_no_pause_is_an_error():
    endless = SMALL.replace('cancelActivity="true"', 'cancelActivity="false"').replace(
        '<bpmn:timeDuration>"P5D"</bpmn:timeDuration>', '<bpmn:timeCycle>"R/PT0S"</bpmn:timeCycle>')
    assert where(small_findings(endless)) == {("too_late", "error")}
    assert small_findings(endless.replace("R/PT0S", "R3/PT0S"))[0].severity == "warning"
    assert small_findings(endless.replace("R/PT0S", "R/P1D")) == []


def test_a_format_that_would_build_a_huge_string_is_not_evaluated():
    assert literal('"PT%dH" % chair_veto_hours', {"chair_veto_hours": 24}) == "PT24H"
    assert literal('"%0999999999d" % chair_veto_hours', {"chair_veto_hours": 24}) is None


# ---------------------------------------------------------------- the reader's language

def test_findings_are_shown_in_the_readers_language_whatever_the_servers(monkeypatch):
    monkeypatch.setenv("CREDITFLOW_LANG", "en")  # the process that lints speaks English; the reader reads Chinese
    chinese = translations("zh_CN").gettext

    def edit(root):
        set_property(root, "lead_inspection", "assignee", "originator")
        set_property(root, "lead_inspection", "due", "business_days(3000)")

    found = {p.rule: p for p in findings(edit, file="post_loan.bpmn")}
    barred, due = found["pair-one-person"], found["impossible-deadline"]
    rule = next(r for r in POLICY.pairs if r.id in barred.message)
    assert "originator" in barred.message and rule.name in barred.message  # English where no reader is known
    assert "受理客户经理" in barred.text(chinese) and rule.name_zh in barred.text(chinese)
    assert "originator" not in barred.text(chinese) and rule.name not in barred.text(chinese)
    assert "the due of" in due.message and "3000 business days" in due.message
    assert "办理期限为 3000 个工作日" in due.text(chinese) and "business" not in due.text(chinese)
