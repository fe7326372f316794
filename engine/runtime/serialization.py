"""Workflow state <-> JSON, without the process spec: the spec comes back from the version cache."""
from __future__ import annotations

import threading
from uuid import UUID
from datetime import date
from decimal import Decimal

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.runtime.timers import CLOCKED

_specs = threading.local()


class SpecReferenceWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the state; the caller supplies it on restore."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec, subprocess_specs = _specs.current
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _config():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpecReferenceWorkflowConverter
    for clocked in CLOCKED.values():
        config[clocked] = TimerConditionalEventDefinitionConverter
    return config


class StateSerializer:
    """Dumps and loads workflow state; Decimal and date survive the round trip."""

    def __init__(self):
        registry = BpmnWorkflowSerializer.configure(_config())
        registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
        self._serializer = BpmnWorkflowSerializer(registry)
        self.registry = registry

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self._serializer.serialize_json(workflow)

    def loads(self, state: str, spec, subprocess_specs) -> BpmnWorkflow:
        _specs.current = (spec, subprocess_specs)
        try:
            return self._serializer.deserialize_json(state)
        finally:
            _specs.current = None

    def full_serializer(self) -> BpmnWorkflowSerializer:
        """A stock serializer (spec embedded), for the benchmark baseline."""
        registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        return BpmnWorkflowSerializer(registry)
