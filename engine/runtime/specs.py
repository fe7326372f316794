"""Process versions: deploying files, and the in-memory cache of parsed specs keyed by (process id, sha256)."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin

from policies import PolicySet

from engine.runtime.canonical import canonical_sha256
from engine.runtime.catalog import catalog_for
from engine.runtime.parser import SourceFile, parse_bundle
from engine.runtime.validation import DeploymentRejected, form_path, user_task_properties, validate_files


@dataclass(frozen=True)
class UserTaskMeta:
    """What the engine needs to know about one user task, read once from the spec."""

    bpmn_id: str
    name: str
    role: str
    duty: str
    stage: str
    form: dict
    assignee: str | None
    instructions: str
    due: str | None
    loan_updates: tuple[str, ...] = ()
    loan_event: str | None = None  # what completing it establishes on the loan (e.g. collateral_registered)
    payment: str | None = None  # direct or entrusted: the engine checks the payment against the approval


@dataclass
class LoadedProcess:
    process_id: str
    sha256: str
    spec: object
    subprocess_specs: dict
    user_tasks: dict[str, UserTaskMeta] = field(default_factory=dict)
    start_message: str | None = None
    start_duty: str | None = None  # duty recorded for whoever set the process off (e.g. raise_warning)
    start_initiator: str | None = None  # expression naming that person, evaluated on the message data
    name: str = ""


def collect_files(paths: list[str | Path]) -> list[SourceFile]:
    """Read BPMN/DMN files (or every one in a folder) and the form schemas beside them."""
    files: dict[str, SourceFile] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{raw}: no such file or folder")
        candidates = sorted([*path.glob("*.bpmn"), *path.glob("*.dmn")]) if path.is_dir() else [path]
        for candidate in candidates:
            files[candidate.name] = SourceFile(candidate.name, candidate.read_bytes())
            catalog = candidate.parent / catalog_for(candidate.name)
            if catalog.is_file():
                files[catalog.name] = SourceFile(catalog.name, catalog.read_bytes())
            forms_dir = candidate.parent / "forms"
            for form in sorted(forms_dir.glob("*.json")) if forms_dir.is_dir() else []:
                files.setdefault(f"forms/{form.name}", SourceFile(f"forms/{form.name}", form.read_bytes()))
    return list(files.values())


def decision_files(parser, specs) -> set[str] | None:
    """The DMN files holding the decisions the business rule tasks of these specs call (None: one is unknown)."""
    called = {(ts.extensions or {}).get("calledDecisionId") for each in specs for ts in each.task_specs.values()
              if isinstance(ts, BusinessRuleTaskMixin)}
    if not called <= set(parser.dmn_parsers):
        return None
    return {parser.dmn_parsers[decision].filename for decision in called}


def bundle_for(process_id: str, files: list[SourceFile], bundle) -> dict[str, str]:
    """The files one process version consists of: its BPMN, the DMN files it calls, their English catalogs, the
    forms it names; a decision table it does not call is not part of it."""
    spec = bundle.parser.get_spec(process_id)
    specs = [spec, *bundle.parser.get_subprocess_specs(process_id).values()]
    called = decision_files(bundle.parser, specs)
    chosen = {f.name: f.data.decode("utf-8") for f in files
              if f.name == spec.file or (f.kind == "dmn" and (called is None or f.name in called))}
    catalogs = {catalog_for(name) for name in chosen}
    chosen.update({f.name: f.data.decode("utf-8") for f in files if f.name in catalogs})
    for each in specs:
        for ts in each.task_specs.values():
            form = user_task_properties(ts).get("form")
            if form:
                path = form_path(each.file, form)
                chosen[path] = next(f.data.decode("utf-8") for f in files if f.name == path)
    return chosen


def sha256_of(files: dict[str, str]) -> str:
    """A version's identity: over the canonical form of its files, so layout, prefixes and attribute order do not
    count."""
    return canonical_sha256(files)


def unchanged(bundle: dict[str, str], deployed: dict[str, str]) -> bool:
    """The bundle is the deployed version: the same files in canonical form. Decision tables a version carried
    without calling them (versions deployed before bundles held only the decisions they call) do not count."""
    unused = {name for name in deployed if name.endswith(".dmn") and name not in bundle}
    unused |= {catalog_for(name) for name in unused}
    return sha256_of(bundle) == sha256_of({k: v for k, v in deployed.items() if k not in unused})


def prepare_deployment(files: list[SourceFile], policy: PolicySet) -> dict[str, dict[str, str]]:
    """Validate against the policy; return process id -> its file bundle. Raises DeploymentRejected with every
    problem."""
    bundle, problems = validate_files(files, policy)
    if problems:
        raise DeploymentRejected(problems)
    return {pid: bundle_for(pid, files, bundle) for pid in bundle.process_ids}


class SpecCache:
    """Parsed specs shared by every request of this process (read-only once built)."""

    def __init__(self):
        self._cache: dict[tuple[str, str], LoadedProcess] = {}
        self._lock = threading.Lock()

    def get(self, process_id: str, sha256: str, files) -> LoadedProcess:
        """`files`: the bundle, or a callable that reads it (called only when the spec is not cached)."""
        key = (process_id, sha256)
        loaded = self._cache.get(key)
        if loaded is None:
            loaded = load_process(process_id, sha256, files() if callable(files) else files)
            with self._lock:
                self._cache[key] = loaded
        return loaded


def _wire_merge(process_spec, loop: LoopTask) -> None:
    """Spiff connects a loop's merge to its child's completion only when it creates the first child, on the spec
    in memory; a workflow restored from its row in another process would never merge (the committee stall).
    Connect it once, when the spec is loaded, for every workflow that uses it."""
    child = process_spec.task_specs[loop.task_spec]
    if not child.completed_event.is_connected(loop.merge_child):
        child.completed_event.connect(loop.merge_child)


def load_process(process_id: str, sha256: str, files: dict[str, str]) -> LoadedProcess:
    sources = [SourceFile(name, text.encode("utf-8")) for name, text in files.items()]
    bundle = parse_bundle(sources, xsd_validate=False)
    spec = bundle.parser.get_spec(process_id)
    loaded = LoadedProcess(process_id, sha256, spec, bundle.parser.get_subprocess_specs(process_id),
                           name=spec.description or process_id)
    for each in [spec, *loaded.subprocess_specs.values()]:
        for ts in each.task_specs.values():
            if isinstance(ts, LoopTask):
                _wire_merge(each, ts)
            if isinstance(ts, UserTask):
                props = user_task_properties(ts)
                form = json.loads(files[form_path(each.file, props["form"])])
                loaded.user_tasks[ts.name] = UserTaskMeta(
                    bpmn_id=ts.bpmn_id, name=ts.bpmn_name or ts.bpmn_id, role=ts.lane, duty=props["duty"],
                    stage=props.get("stage", ""), form=form, assignee=props.get("assignee"),
                    instructions=(ts.extensions or {}).get("instructionsForEndUser") or "",
                    due=props.get("due"),
                    loan_updates=tuple(f.strip() for f in props.get("loan_updates", "").split(",") if f.strip()),
                    loan_event=props.get("loan_event"), payment=props.get("payment"),
                )
            if isinstance(ts, StartEvent) and isinstance(getattr(ts, "event_definition", None), MessageEventDefinition):
                loaded.start_message = ts.event_definition.name
                start_props = user_task_properties(ts)
                loaded.start_duty = start_props.get("duty")
                loaded.start_initiator = start_props.get("initiator")
    return loaded
