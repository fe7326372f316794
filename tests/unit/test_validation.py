"""Deployment validation: every bad input is refused with file, element and line a risk manager can act on."""
import json
import re

import pytest

from engine.runtime.parser import MAX_FILE_BYTES, SourceFile
from engine.runtime.validation import validate_files
from policies import default_policy

POLICY = default_policy()

FORM = json.dumps({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}).encode()

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="tiny" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_a" name="{lane}">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        {task_ref}
        <bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>calc</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check the file">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          {duty}
          <spiffworkflow:property name="form" value="{form}" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" default="f4"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td"><bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="calc" name="Calculate"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw" />
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="wait">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="calc" />
    <bpmn:sequenceFlow id="f5" sourceRef="wait" targetRef="calc" />
    <bpmn:sequenceFlow id="f6" sourceRef="calc" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

GOOD = dict(lane="customer_manager", task_ref="<bpmn:flowNodeRef>check</bpmn:flowNodeRef>",
            duty='<spiffworkflow:property name="duty" value="investigate" />', form="forms/check.json",
            timer='"P3D"', script="total = 1 + 1", condition="ok == True")


def files(prolog: str = "", **changes) -> list[SourceFile]:
    xml = prolog + TEMPLATE.format(**{**GOOD, **changes})
    return [SourceFile("tiny.bpmn", xml.encode()), SourceFile("forms/check.json", FORM)]


def problems_of(source_files):
    _bundle, problems = validate_files(source_files, POLICY)
    return [str(p) for p in problems]


def test_the_good_file_is_valid():
    assert problems_of(files()) == []


@pytest.mark.parametrize("changes, expected", [
    (dict(task_ref=""), "tiny.bpmn, line 16, element 'check': user task 'Check the file' is not in a lane"),
    (dict(lane="teller"), "element 'check': user task 'Check the file' is in lane 'teller', which is not a known role"),
    (dict(duty=""), "element 'check': user task 'Check the file' declares no duty"),
    (dict(form="forms/missing.json"), "names form 'forms/missing.json', which was not found"),
    (dict(condition="ok ==="), "element 'f3'"),
    (dict(condition="ok.__class__"), "access to '__class__' is not allowed"),
    (dict(script="import os"), "element 'calc': script line 1 is refused: imports are not allowed"),
    (dict(script="x = (1"), "element 'calc': script line 1:"),
    (dict(timer='"P3D" +'), "element 'wait'"),
])
def test_each_mistake_is_named_with_file_element_and_line(changes, expected):
    found = problems_of(files(**changes))
    assert any(expected in p for p in found), found
    assert all(p.startswith("tiny.bpmn") for p in found), found


def test_gateway_condition_problem_names_the_flow_and_its_line():
    found = problems_of(files(condition="ok.__class__"))
    assert found == ["tiny.bpmn, line 36, element 'f3': gateway condition 'ok.__class__' is refused: "
                     "access to '__class__' is not allowed"]


def test_doctype_and_external_entity_are_refused_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    prolog = f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>\n'
    xml = TEMPLATE.format(**GOOD).replace('<?xml version="1.0" encoding="UTF-8"?>\n', "")
    xml = xml.replace('name="Check the file"', 'name="&x;"')
    found = problems_of([SourceFile("evil.bpmn", (prolog + xml).encode()), SourceFile("forms/check.json", FORM)])
    assert len(found) == 1
    assert found[0].startswith("evil.bpmn, line 1: DOCTYPE and ENTITY declarations are not allowed")
    assert "TOP-SECRET" not in found[0]


def test_oversized_file_is_refused():
    big = TEMPLATE.format(**GOOD).replace("</bpmn:definitions>", "<!--" + "x" * MAX_FILE_BYTES + "--></bpmn:definitions>")
    found = problems_of([SourceFile("big.bpmn", big.encode()), SourceFile("forms/check.json", FORM)])
    assert len(found) == 1 and "the limit is 1,000,000 bytes" in found[0] and found[0].startswith("big.bpmn")


def test_malformed_xml_names_the_line():
    broken = TEMPLATE.format(**GOOD).replace("</bpmn:process>", "")
    found = problems_of([SourceFile("broken.bpmn", broken.encode())])
    assert len(found) == 1 and found[0].startswith("broken.bpmn, line") and "not well-formed" in found[0]


def test_a_dmn_that_does_not_parse_is_refused():
    dmn = b'<?xml version="1.0"?><definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d">' \
          b'<decision id="x" name="x"><decisionTable id="t"><input id="i"><inputExpression id="e"><text>amount' \
          b'</text></inputExpression></input><output id="o" name="tier"/><rule id="r"><inputEntry id="ie"><text>' \
          b'&lt;= 3</text></inputEntry></rule></decisionTable></decision></definitions>'
    found = problems_of(files() + [SourceFile("bad.dmn", dmn)])
    assert found and found[0].startswith("bad.dmn"), found


def test_every_unreadable_file_is_reported_at_once():
    broken = TEMPLATE.format(**GOOD).replace("</bpmn:process>", "")
    evil = '<!DOCTYPE d [<!ENTITY x "y">]>\n' + TEMPLATE.format(**GOOD).split("\n", 1)[1]
    found = problems_of([SourceFile("a.bpmn", broken.encode()), SourceFile("b.bpmn", evil.encode())])
    assert [p.split(",")[0] for p in found] == ["a.bpmn", "b.bpmn"]


def test_a_form_that_refers_outside_itself_is_refused():
    schema = json.dumps({"type": "object", "properties": {"ok": {"$ref": "http://169.254.169.254/latest/meta-data"}}})
    source_files = files()[:1] + [SourceFile("forms/check.json", schema.encode())]
    assert any("refers to 'http://169.254.169.254/latest/meta-data'" in p for p in problems_of(source_files))


def test_the_engine_never_fetches_a_reference(monkeypatch):
    import urllib.request
    import referencing.exceptions
    from engine.forms import form_errors
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("fetched a URL"))
    with pytest.raises(referencing.exceptions.Unresolvable):
        form_errors({"type": "object", "properties": {"ok": {"$ref": "http://127.0.0.1:9/x"}}}, {"ok": 1})


def test_an_absurd_literal_due_time_is_refused_at_validation():
    source_files = files(duty='<spiffworkflow:property name="duty" value="investigate" />'
                              '<spiffworkflow:property name="due" value="P99999999Y" />')
    assert any("P99999999Y" in p and "more than" in p for p in problems_of(source_files))


@pytest.mark.parametrize("pattern, risky", [("^(a+)+$", True), (r"^(\w+\s?)*$", True), ("^([0-9]{3})+$", True),
                                            (r"^\d{4}-\d{2}-\d{2}$", False), ("^[A-Z]{2}[0-9]+$", False)])
def test_form_patterns_that_can_hang_are_refused(pattern, risky):
    schema = json.dumps({"type": "object", "properties": {"ok": {"type": "string", "pattern": pattern}}})
    source_files = files()[:1] + [SourceFile("forms/check.json", schema.encode())]
    assert any("repeats a repetition" in p for p in problems_of(source_files)) == risky


# -- the English catalog beside a diagram ---------------------------------------------------------------------
def catalog(elements) -> SourceFile:
    return SourceFile("tiny.en.json", json.dumps({"language": "en", "elements": elements}).encode())


def test_a_catalog_naming_an_element_the_diagram_lacks_is_refused_with_file_and_element():
    found = problems_of(files() + [catalog({"check": {"name": "Check the file"}, "chek": {"name": "Typo"}})])
    assert found == ["tiny.en.json, element 'chek': translates element 'chek', which tiny.bpmn does not have "
                     "(or which has no name)"]


def test_a_malformed_catalog_or_one_without_its_diagram_is_refused():
    assert problems_of(files() + [catalog({"check": {"title": "Check"}})]) == [
        "tiny.en.json: not a valid catalog: the entry of 'check' has unknown keys: title"]
    orphan = SourceFile("other.en.json", json.dumps({"elements": {}}).encode())
    assert problems_of(files() + [orphan]) == [
        "other.en.json: no BPMN or DMN file of that name is beside it to translate"]


def test_untranslated_names_are_listed_not_refused():
    from engine.runtime.validation import untranslated

    chinese = [SourceFile("tiny.bpmn", files()[0].data.replace(b'name="Check the file"', 'name="审核档案"'.encode())),
               files()[1], catalog({"check": {"name": "Check the file"}})]
    assert problems_of(chinese) == []
    assert [str(w) for w in untranslated(chinese)] == [
        "tiny.en.json, element 'lane_a': no English name for 'customer_manager'",
        "tiny.en.json, element 'wait': no English name for 'Wait'",
        "tiny.en.json, element 'calc': no English name for 'Calculate'"]


def test_a_lane_named_with_the_roles_chinese_name_is_that_role():
    assert problems_of(files(lane="客户经理")) == []
    assert any("is in lane '柜员'" in p for p in problems_of(files(lane="柜员")))


def test_the_catalog_is_part_of_the_deployed_version():
    from engine.runtime.specs import prepare_deployment, sha256_of

    plain = prepare_deployment(files(), POLICY)["tiny"]
    with_catalog = prepare_deployment(files() + [catalog({"check": {"name": "Check the file"}})], POLICY)["tiny"]
    assert "tiny.en.json" in with_catalog and sha256_of(plain) != sha256_of(with_catalog)


def test_the_english_diagram_takes_its_names_from_the_catalog_and_keeps_its_ids():
    from engine.runtime.catalog import ProcessTexts

    chinese = files()[0].data.decode().replace('name="Check the file"', 'name="审核档案"')
    texts = ProcessTexts.of({"tiny.bpmn": chinese, "tiny.en.json": catalog({"check": {"name": "Check & file"}})
                             .data.decode(), "forms/check.json": FORM.decode()})
    assert texts.text("check", "zh_CN").name == "审核档案" and texts.text("check", "en").name == "Check & file"
    english = texts.diagram("tiny.bpmn", "en")
    assert '<bpmn:userTask id="check" name="Check &amp; file">' in english
    assert texts.diagram("tiny.bpmn", "zh_CN") == chinese


# -- the policy the processes run under ---------------------------------------------------------------------
def test_a_duty_the_policy_does_not_define_is_refused():
    found = problems_of(files(duty='<spiffworkflow:property name="duty" value="inspect_vibes" />'))
    assert len(found) == 1, found
    assert found[0].startswith(f"tiny.bpmn, line 16, element 'check': user task 'Check the file': duty 'inspect_vibes' "
                               f"is not defined in policy {POLICY.version}; defined: ")
    assert "investigate" in found[0] and "review" in found[0]


def test_a_lane_whose_role_may_never_do_the_duty_is_refused():
    found = problems_of(files(lane="credit_reviewer"))
    assert found == [f"tiny.bpmn, line 16, element 'check': user task 'Check the file' is in lane 'credit_reviewer', "
                     f"but policy {POLICY.version} lets only customer_manager do duty 'investigate'; move the task "
                     "to one of those lanes or choose another duty"]


def test_the_bundled_processes_meet_the_bundled_policy():
    from engine.bootstrap import BUNDLED_BPMN
    from engine.runtime.specs import collect_files

    assert problems_of(collect_files([BUNDLED_BPMN])) == []


# -- element types the engine runs ----------------------------------------------------------------------------
@pytest.mark.parametrize("element, expected", [
    ('<bpmn:serviceTask id="x" name="Call core banking"/>', "serviceTask 'Call core banking' is not supported: "
                                                             "the engine calls no outside services"),
    ('<bpmn:sendTask id="x"/>', "use an intermediate throw event with a message definition"),
    ('<bpmn:receiveTask id="x"/>', "use an intermediate catch event with a message definition"),
    ('<bpmn:complexGateway id="x"/>', "complexGateway 'x' is not supported: use an exclusive, inclusive or parallel"),
    ('<bpmn:intermediateThrowEvent id="x" name="Shout"><bpmn:signalEventDefinition id="s"/>'
     '</bpmn:intermediateThrowEvent>', "intermediateThrowEvent 'Shout' is a signal event, which is not supported"),
    ('<bpmn:subProcess id="x" triggeredByEvent="true"/>', "event sub-process 'x' is not supported"),
    ('<bpmn:manualTask id="x" name="Sign"/>', "manualTask 'Sign' is not supported"),
])
def test_an_element_the_engine_cannot_run_is_refused_naming_what_to_draw_instead(element, expected):
    found = problems_of(files(script="total = 1 + 1</bpmn:script></bpmn:scriptTask>" + element +
                              "<bpmn:scriptTask id='unused'><bpmn:script>x = 1"))
    assert len(found) == 1 and found[0].startswith("tiny.bpmn, line 32, element 'x': ") and expected in found[0], found


# -- files from other modelers -------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix, namespace", [("camunda", "http://camunda.org/schema/1.0/bpmn"),
                                               ("zeebe", "http://camunda.org/schema/zeebe/1.0")])
def test_extension_properties_written_by_camunda_modeler_are_read(prefix, namespace):
    from engine.bootstrap import BUNDLED_BPMN
    from engine.runtime.specs import collect_files

    bundled = collect_files([BUNDLED_BPMN])
    text = next(f for f in bundled if f.name == "origination.bpmn").data.decode("utf-8")
    camunda = (text.replace("<spiffworkflow:properties>", f"<{prefix}:properties>")
               .replace("</spiffworkflow:properties>", f"</{prefix}:properties>")
               .replace("<spiffworkflow:property ", f"<{prefix}:property ")
               .replace("<bpmn:definitions ", f'<bpmn:definitions xmlns:{prefix}="{namespace}" ', 1))
    for decision in ("approval_tier", "entrusted_payment"):  # how each modeler names the decision to call
        called = f"<spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>"
        if prefix == "zeebe":
            camunda = camunda.replace(called, f'<zeebe:calledDecision decisionId="{decision}" resultVariable="r" />')
        else:
            task = re.search(r'<bpmn:businessRuleTask id="\w+" name="[^"]+"(?=>\s*<bpmn:extensionElements>\s*'
                             + re.escape(called) + ")", camunda).group(0)
            camunda = camunda.replace(task, f'{task} camunda:decisionRef="{decision}"').replace(called, "")
    assert "spiffworkflow:property " not in camunda and f"<{prefix}:property name=\"duty\"" in camunda
    assert "spiffworkflow:calledDecisionId>approval_tier" not in camunda
    redesign = [f if f.name != "origination.bpmn" else SourceFile(f.name, camunda.encode()) for f in bundled]
    bundle, found = validate_files(redesign, POLICY)
    assert found == []
    from engine.runtime.validation import user_task_properties
    review = bundle.parser.get_spec("origination").task_specs["review"]
    assert user_task_properties(review)["duty"] == "review"
    from engine.runtime.specs import prepare_deployment
    assert "approval_tier.dmn" in prepare_deployment(redesign, POLICY)["origination"]


# -- functions a script or expression calls ---------------------------------------------------------------------
@pytest.mark.parametrize("changes, expected", [
    (dict(script="total = 1\\nnote = format_money(total)"),
     "element 'calc': script line 2 calls 'format_money', which does not exist when it runs; the functions "
     "available are Decimal, abs, all, any, bool, business_days, date_after,"),
    (dict(condition="ok == True and approved(ok)"), "element 'f3': gateway condition 'ok == True and approved(ok)' "
                                                    "calls 'approved', which does not exist when it runs"),
    (dict(timer="iso_days(3)"), "element 'wait': timer expression 'iso_days(3)' calls 'iso_days'"),
    (dict(script="print(1)"), "element 'calc': script line 1 is refused: print is not available"),
])
def test_a_call_to_a_function_that_does_not_exist_is_refused(changes, expected):
    changes = {k: v.replace("\\n", "\n") for k, v in changes.items()}
    found = problems_of(files(**changes))
    assert len(found) == 1 and expected in found[0], found


def test_builtins_helpers_methods_and_names_the_script_binds_may_be_called():
    script = ("pick = max\ntotal = pick(1, 2) + len([1]) + business_days(2)\nday = date_after(today(), 'P1M')\n"
              "names = ', '.join(sorted(str(v) for v in [1, 2]))")
    assert problems_of(files(script=script)) == []


def test_the_helpers_validation_allows_are_the_ones_the_engine_provides(clock):
    from engine.kernel import Kernel
    from engine.runtime.scripting import ENGINE_HELPERS

    kernel = Kernel(None, clock, POLICY)
    assert set(kernel.script_engine.environment.globals) == set(ENGINE_HELPERS)
