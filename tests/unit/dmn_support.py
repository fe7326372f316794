"""Running one decision table the way a process runs it: our parser, Spiff's workflow, the restricted evaluator."""
from __future__ import annotations

import re

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.clock import ManualClock
from engine.runtime.parser import SourceFile, parse_bundle
from engine.runtime.scripting import RestrictedScriptEngine

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="decide" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="rule" name="Decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rule" />
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def first_decision_id(dmn: bytes) -> str:
    return re.search(rb'<(?:\w+:)?decision\b[^>]*\bid="([^"]+)"', dmn).group(1).decode()


def caller_for(dmn: bytes) -> SourceFile:
    """A one-step process that calls the file's decision."""
    return SourceFile("decide.bpmn", CALLER.format(decision=first_decision_id(dmn)).encode())


def decide(dmn: bytes, **data) -> dict:
    """The task data after the decision ran on `data`."""
    bundle = parse_bundle([SourceFile("table.dmn", dmn), caller_for(dmn)])
    workflow = BpmnWorkflow(bundle.parser.get_spec("decide"), script_engine=RestrictedScriptEngine(ManualClock()))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return workflow.last_task.data
