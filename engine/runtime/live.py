"""Workflow objects for a command: new, restored from a row, or the live one this process saved last."""
from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.runtime.serialization import StateSerializer
from engine.runtime.specs import LoadedProcess, SpecCache


DEFAULT_LIVE_BYTES = 64 * 2**20


class LiveWorkflows:
    """Workflows this process saved last, by instance id and row version: a thread-safe LRU bounded by count and
    by the bytes of their saved state (a proxy for their memory: a long-lived loan weighs more than a new one)."""

    def __init__(self, size: int = 512, max_bytes: int = DEFAULT_LIVE_BYTES):
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow, int]] = OrderedDict()
        self._size, self._max_bytes, self._bytes = size, max_bytes, 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def take(self, instance_id: int, version: int) -> BpmnWorkflow | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
            if entry is not None:
                self._bytes -= entry[2]
        return entry[1] if entry is not None and entry[0] == version else None

    def keep(self, instance_id: int, version: int, workflow: BpmnWorkflow, nbytes: int = 0) -> None:
        with self._lock:
            old = self._items.pop(instance_id, None)
            if old is not None:
                self._bytes -= old[2]
            if nbytes > self._max_bytes or self._size <= 0:
                return
            self._items[instance_id] = (version, workflow, nbytes)
            self._bytes += nbytes
            self._evict()

    def resize(self, size: int | None = None, max_bytes: int | None = None) -> None:
        with self._lock:
            self._size = self._size if size is None else size
            self._max_bytes = self._max_bytes if max_bytes is None else max_bytes
            self._evict()

    def _evict(self) -> None:
        while self._items and (len(self._items) > self._size or self._bytes > self._max_bytes):
            _id, (_version, _workflow, nbytes) = self._items.popitem(last=False)
            self._bytes -= nbytes


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
            self.live.keep(instance.id, instance.version, workflow, len(instance.state or ""))
