"""Lint: what deploys but would stall a loan or weaken the policy (unreachable steps, gateways with no way out,
tasks nobody may do, one person on both sides of a pair, deadlines that cannot work), as warnings and errors."""
from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from engine.runtime.conditions import COVERED, all_false
from engine.runtime.deadlines import deadline_findings, process_constants
from engine.runtime.flowgraph import BPMN_NS, FlowGraph, Together, flow_graph
from engine.runtime.parser import ParsedBundle
from engine.runtime.validation import N_, Problem, form_path, user_task_properties

log = logging.getLogger("creditflow.lint")

# What the engine's script helpers return, by key (policies.model.CommitteeOutcome for `tally_votes`).
HELPER_RESULTS = {"tally_votes": {"outcome": ("approved", "rejected", "no_quorum")}}


@dataclass(frozen=True)
class Staff:
    """Who can work today: active users with a grant valid today, counted per role, and of them those at head
    office (or bank-wide)."""

    holders: Mapping[str, int]
    head_office: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """A user task as lint sees it."""

    id: str
    name: str
    role: str | None
    duty: str | None
    assignee: str | None
    due: str | None
    form: dict | None = None


def lint(bundle: ParsedBundle, policy, staff: Staff | None = None) -> list[Problem]:
    """Every finding for every process of the bundle; `staff` None (or nobody at all) skips the checks that count
    people."""
    if staff is not None and not any(staff.holders.values()):
        staff = None  # a fresh installation with nobody yet is not judged on its staff
    findings: list[Problem] = []
    for process_id in bundle.process_ids:
        process = bundle.parser.process_parsers.get(process_id)
        if process is None:
            continue
        try:
            linter = _Linter(bundle, policy, staff, process_id, flow_graph(process.node))
        except Exception:  # noqa: BLE001 - lint only advises; validation says what is wrong with the file
            log.exception("lint could not read process %s", process_id)
            continue
        for rule in (linter.unreachable, linter.gateways, linter.performers, linter.pairs):
            try:
                rule()
            except Exception:  # noqa: BLE001 - lint only advises; one rule failing must not hide the others
                log.exception("lint rule %s failed on process %s", rule.__name__, process_id)
        try:
            linter.findings += deadline_findings(linter)
        except Exception:  # noqa: BLE001
            log.exception("lint rule deadlines failed on process %s", process_id)
        findings += linter.findings
    return findings


def rule_names(rule) -> dict[str, str]:
    """A pair rule's name in both languages, as message parameters: Chinese catalogs use `name_zh`."""
    return {"name": rule.name, "name_zh": getattr(rule, "name_zh", "") or rule.name}


def form_domains(forms) -> dict[str, list]:
    """Field name -> the values the forms let a person choose (enum or boolean), where every form agrees."""
    domains: dict[str, list] = {}
    spoilt: set[str] = set()
    for schema in forms:
        properties = schema.get("properties") if isinstance(schema, dict) else None
        for name, prop in (properties or {}).items() if isinstance(properties, dict) else ():
            values = (prop.get("enum") or ([True, False] if prop.get("type") == "boolean" else None)
                      if isinstance(prop, dict) else None)
            if not isinstance(values, list):
                spoilt.add(name)
            else:
                domains[name] = list(dict.fromkeys([*domains.get(name, []), *values]))
    return {name: values for name, values in domains.items() if name not in spoilt}


class _Linter:
    def __init__(self, bundle: ParsedBundle, policy, staff: Staff | None, process_id: str, graph: FlowGraph):
        self.bundle, self.policy, self.staff, self.process_id, self.graph = bundle, policy, staff, process_id, graph
        self.findings: list[Problem] = []
        self.steps = self._steps()

    def _steps(self) -> dict[str, Step]:
        parser = self.bundle.parser
        try:
            specs = [parser.get_spec(self.process_id), *parser.get_subprocess_specs(self.process_id).values()]
        except Exception:  # noqa: BLE001 - validation reports why the process does not build
            return {}
        steps = {}
        for spec in specs:
            for ts in spec.task_specs.values():
                if isinstance(ts, UserTask) and getattr(ts, "bpmn_id", None) in self.graph.kinds:
                    props = user_task_properties(ts)
                    form = self.bundle.forms.get(form_path(self.bundle.element_file.get(ts.bpmn_id, ""),
                                                           props.get("form") or ""))
                    steps[ts.bpmn_id] = Step(ts.bpmn_id, ts.bpmn_name or ts.bpmn_id, ts.lane, props.get("duty"),
                                             " ".join((props.get("assignee") or "").split()) or None,
                                             (props.get("due") or "").strip() or None, form)
        return steps

    def add(self, element_id: str | None, rule: str, severity: str, template: str, /, **params) -> None:
        """A finding whose message is `template` filled with `params` (which may themselves name a `rule`)."""
        file = self.bundle.element_file.get(element_id or "", "?")
        line = self.bundle.lines.get((file, element_id or ""))
        self.findings.append(Problem(file, line, element_id, template % params, severity, rule, template,
                                     tuple(sorted(params.items()))))

    def label(self, node_id: str) -> str:
        element = self.graph.elements.get(node_id)
        return (element.get("name") if element is not None else None) or node_id

    # ---------------------------------------------------------------- unreachable
    def unreachable(self) -> None:
        graph = self.graph
        reached = graph.reachable(graph.starts)
        finishing = graph.reaching(graph.sinks)
        for node in graph.kinds:
            outer = graph.container.get(node)
            if node not in reached:
                host = graph.attached.get(node)
                if (outer is not None and outer not in reached) or (host is not None and host not in reached):
                    continue  # its subprocess or its activity is reported instead
                self.add(node, "unreachable", "warning",
                         N_("'%(step)s' can never be reached from a start event; remove it or connect it"),
                         step=self.label(node))
            elif node not in finishing:
                self.add(node, "unreachable", "error",
                         N_("no end event can be reached from '%(step)s'; a loan that gets here can never finish"),
                         step=self.label(node))
            elif graph.kinds[node] == "parallelGateway":
                for flow in graph.incoming(node):
                    if flow.source not in reached:
                        self.add(node, "unreachable", "error",
                                 N_("'%(step)s' waits for all its incoming flows, but the one from '%(source)s' never "
                                    "comes; loans stop here"), step=self.label(node), source=self.label(flow.source))
            elif node in graph.implicit_ends and graph.kinds[node] != "boundaryEvent":
                self.add(node, "unreachable", "warning",
                         N_("'%(step)s' has no outgoing flow: the path ends there without an end event"),
                         step=self.label(node))

    # ---------------------------------------------------------------- gateways
    def decided_before(self, node: str) -> list[dict]:
        """The forms of the user tasks whose answers a gateway reads: the nearest ones upstream."""
        backward: dict[str, list[str]] = {}
        for source, targets in self.graph.edges.items():
            for target in targets:
                backward.setdefault(target, []).append(source)
        forms, seen, todo = [], {node}, list(backward.get(node, ()))
        while todo and len(seen) < 200:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in self.steps:
                forms.append(self.steps[current].form or {})
            else:
                todo.extend(backward.get(current, ()))
        return forms

    def helper_domains(self) -> dict[str, tuple]:
        """`committee_result["outcome"]` after a script `committee_result = tally_votes(...)`: the helper's values."""
        domains = {}
        for element in self.graph.elements.values():
            script = element.find(f"{{{BPMN_NS}}}script")
            try:
                tree = ast.parse(script.text or "") if script is not None else None
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                        and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
                    for key, values in HELPER_RESULTS.get(node.value.func.id, {}).items():
                        domains[f"{node.targets[0].id}[{key!r}]"] = values
        return domains

    def gateways(self) -> None:
        every_form = {**form_domains(self.bundle.forms.values()), **self.helper_domains()}
        constants = process_constants(self.policy)
        for node, kind in self.graph.kinds.items():
            if kind not in ("exclusiveGateway", "inclusiveGateway"):
                continue
            flows = self.graph.outgoing(node)
            if not flows or self.graph.elements[node].get("default") or not all(f.condition for f in flows):
                continue
            domains = {**every_form, **form_domains(self.decided_before(node))}
            verdict, witness = all_false([f.condition for f in flows], constants, domains)
            if verdict == COVERED:
                continue
            if witness is None:
                self.add(node, "gateway-no-default", "warning",
                         N_("every flow out of '%(gateway)s' has a condition and none is the default: if none of the "
                            "conditions holds the loan stops here; add a default flow"), gateway=self.label(node))
            else:
                self.add(node, "gateway-no-default", "error",
                         N_("no condition out of '%(gateway)s' holds when %(name)s is %(value)s, and there is no "
                            "default flow: such a loan stops here; add a default flow"), gateway=self.label(node),
                         name=witness[0], value=repr(witness[1]))

    # ---------------------------------------------------------------- nobody-can-perform
    def performers(self) -> None:
        committee = getattr(self.policy, "committee", None)
        at_head_office = committee is not None and "head_office" in dict(committee.levels).values()
        committee_roles = {*committee.member_roles, committee.chair_role} if committee is not None else set()
        for step in self.steps.values():
            spec = self.policy.duty_specs.get(step.duty) if step.duty else None
            if spec is None or step.role is None:
                continue  # validation reports a missing lane or an unknown duty
            if step.role not in spec.roles:
                self.add(step.id, "nobody-can-perform", "error",
                         N_("'%(step)s' is in the lane of %(role)s, but the policy lets only %(allowed_roles)s do duty "
                            "'%(duty)s': nobody can ever do it and the loan would wait forever"), step=step.name,
                         role=step.role, allowed_roles=", ".join(spec.roles), duty=step.duty)
            elif self.staff is not None and not self.staff.holders.get(step.role, 0):
                self.add(step.id, "nobody-can-perform", "error",
                         N_("no active user holds the role %(role)s that '%(step)s' needs: the loan would wait "
                            "forever; grant the role first"), role=step.role, step=step.name)
            elif self.staff is not None and at_head_office and step.role in committee_roles \
                    and not self.staff.head_office.get(step.role, 0):
                self.add(step.id, "nobody-can-perform", "warning",
                         N_("nobody holds the role %(role)s at head office: '%(step)s' of a loan for the head-office "
                            "committee would wait forever"), role=step.role, step=step.name)

    # ---------------------------------------------------------------- pair-one-person
    def pairs(self) -> None:
        together = Together(self.graph)
        same_duty: dict[str, list[Step]] = {}
        same_assignee: dict[str, list[Step]] = {}
        for step in sorted(self.steps.values(), key=lambda s: s.id):
            if not step.duty:
                continue
            for earlier in same_duty.get(step.duty, []):  # one finding per step is enough to mark it
                if together(earlier.id, step.id) and self.same_duty(earlier, step):
                    break
            for earlier in same_assignee.get(step.assignee or "", []):
                if earlier.duty != step.duty and together(earlier.id, step.id) and self.same_assignee(earlier, step):
                    break
            same_duty.setdefault(step.duty, []).append(step)
            if step.assignee:
                same_assignee.setdefault(step.assignee, []).append(step)
            for rule in self.policy.pairs:
                if step.assignee == "originator" and "originate" in rule.opposite(step.duty):
                    self.add(step.id, "pair-one-person", "warning",
                             N_("'%(step)s' is assigned to the originator, whom rule %(rule)s (%(name)s) bars from "
                                "duty '%(duty)s': the assignment is always refused"), step=step.name, rule=rule.id,
                             **rule_names(rule), duty=step.duty)
                    break

    def same_duty(self, first: Step, second: Step) -> bool:
        """Two steps of one duty the policy pairs with another duty but never with itself: one person may do both."""
        rules = self.policy.pairs
        involved = [r for r in rules if r.involves(first.duty)]
        if not involved or any(first.duty in r.opposite(first.duty) for r in rules):
            return False
        rule = min(involved, key=lambda r: len(r.opposite(first.duty)))  # the closest twin: SOD-02, not SOD-01
        self.add(second.id, "pair-one-person", "warning",
                 N_("'%(first)s' (%(first_id)s) and '%(second)s' (%(second_id)s) both record duty '%(duty)s', "
                    "which the policy never keeps apart from itself: one person may do both; if two people "
                    "are meant, give one of them the paired duty (%(paired)s) of rule %(rule)s (%(name)s)"),
                 first=first.name, first_id=first.id, second=second.name, second_id=second.id,
                 duty=first.duty, paired=", ".join(sorted(rule.opposite(first.duty))), rule=rule.id,
                 **rule_names(rule))
        return True

    def same_assignee(self, first: Step, second: Step) -> bool:
        """Two steps a pair rule keeps apart, assigned by the same expression: one assignment is always refused."""
        rule = next((r for r in self.policy.pairs if second.duty in r.opposite(first.duty)), None)
        if rule is None:
            return False
        self.add(second.id, "pair-one-person", "warning",
                 N_("'%(first)s' (%(first_id)s) and '%(second)s' (%(second_id)s) are both assigned to "
                    "'%(assignee)s', but rule %(rule)s (%(name)s) needs two people for them: one of the "
                    "two assignments is always refused"), first=first.name, first_id=first.id,
                 second=second.name, second_id=second.id, assignee=first.assignee, rule=rule.id,
                 **rule_names(rule))
        return True

