"""Workflow objects for a command: new, restored from a row, or the live one this process saved last."""
from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.runtime.serialization import StateSerializer
from engine.runtime.specs import LoadedProcess, SpecCache


class LiveWorkflows:
    """Workflows this process saved last, by instance id and row version (a bounded, thread-safe LRU)."""

    def __init__(self, size: int = 512):
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: int, version: int) -> BpmnWorkflow | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
        return entry[1] if entry is not None and entry[0] == version else None

    def keep(self, instance_id: int, version: int, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class Workflows:
    """The one place that turns process versions and instance rows into Spiff workflows and back."""

    def __init__(self, script_engine, specs: SpecCache | None = None):
        self.script_engine = script_engine
        self.specs = specs or SpecCache()
        self.serializer = StateSerializer()
        self.live = LiveWorkflows()

    def loaded(self, version) -> LoadedProcess:
        """The parsed spec of a `process_version` row (from the in-memory cache)."""
        return self.specs.get(version.process_id, version.sha256, lambda: version.files)

    def new(self, version) -> tuple[BpmnWorkflow, LoadedProcess]:
        loaded = self.loaded(version)
        return BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine), loaded

    def restore(self, instance) -> tuple[BpmnWorkflow, LoadedProcess]:
        """A fresh workflow object from the saved state (readers and anyone who will not save it)."""
        loaded = self.loaded(instance.process_version)
        workflow = self.serializer.loads(instance.state, loaded.spec, loaded.subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow, loaded

    def checkout(self, unit, instance) -> tuple[BpmnWorkflow, LoadedProcess]:
        """The workflow a command will change: the live object this process saved last, when the row still has
        that version (no one else wrote since), else restored from the row. It returns to the live set only when
        the command commits, so a failed command never leaves a half-changed object behind."""
        if instance.id in unit.saved:  # changed earlier in this same command (messages between processes)
            return unit.saved[instance.id][1], self.loaded(instance.process_version)
        live = self.live.take(instance.id, instance.version)
        if live is not None:
            return live, self.loaded(instance.process_version)
        return self.restore(instance)

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self.serializer.dumps(workflow)

    def committed(self, saved: dict) -> None:
        """After a commit: the workflows the command saved become the live ones."""
        for instance, workflow in saved.values():
            self.live.keep(instance.id, instance.version, workflow)
