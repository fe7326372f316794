"""Deployment checks: everything a risk manager can get wrong in a redesigned BPMN, named by file, element and line."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import PurePosixPath

import jsonschema
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException

from policies import PolicySet

from engine.documents import checklist_problems
from engine.roles import lane_roles
from engine.runtime.parser import ParsedBundle, SourceFile, XmlRejected, is_catalog, parse_bundle, parse_xml
from engine.runtime.parser import form_file_problems
from engine.runtime.policy_fit import duty_problems, recorded_duty_problems
from engine.runtime.task_types import refused_elements
from engine.runtime.scripting import CALLABLE_NAMES, ExpressionRejected, compile_expression, compile_script
from engine.runtime.scripting import unknown_calls
from engine.runtime.timers import CLOCKED, duration_from
from engine.runtime.problems import (  # noqa: F401  (the vocabulary of problems, used from here by many)
    EXPRESSION_INVALID, EXPRESSION_REFUSED, EXPRESSION_UNKNOWN_CALL, N_, SCRIPT_INVALID, SCRIPT_REFUSED,
    SCRIPT_REFUSED_ANYWHERE, SCRIPT_UNKNOWN_CALL, UNTRANSLATED, DeploymentRejected, Problem, inner, problem)


def user_task_properties(task_spec) -> dict[str, str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}


# What a BPMN element may declare with `loan_event`, and a payment task with `payment`: the engine acts on them.
LOAN_EVENTS = ("approved", "released", "collateral_registered", "collateral_revalued", "repaid", "extended")
PAYMENT_MODES = ("direct", "entrusted")

REFERENCE_DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)  # durations are checked for size, not for a date


NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")


def _schema_objects(schema):
    """Every JSON object inside a form schema, the schema itself included."""
    if isinstance(schema, dict):
        yield schema
        children = schema.values()
    elif isinstance(schema, list):
        children = schema
    else:
        return
    for child in children:
        yield from _schema_objects(child)


def risky_patterns(schema) -> list[str]:
    """Form patterns that can backtrack catastrophically (a quantified group that itself repeats)."""
    return [node["pattern"] for node in _schema_objects(schema) if isinstance(node.get("pattern"), str)
            and (len(node["pattern"]) > 500 or NESTED_QUANTIFIER.search(node["pattern"]))]


def outside_references(schema) -> list[str]:
    """Every `$ref` that would leave the form (a URL, another file): the engine never fetches anything."""
    return [node["$ref"] for node in _schema_objects(schema)
            if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#")]


def form_path(bpmn_file: str, form: str) -> str:
    """Forms are referenced relative to the BPMN file that names them."""
    return str(PurePosixPath(bpmn_file).parent / form) if "/" in bpmn_file else form


def validate_files(files: list[SourceFile], policy: PolicySet) -> tuple[ParsedBundle | None, list[Problem]]:
    """Parse and check against the policy the processes will run under; returns the bundle (if it parsed) and
    every problem found."""
    rejected = []
    for f in files:
        if f.kind in ("bpmn", "dmn"):
            try:
                root = parse_xml(f.data)
            except XmlRejected as exc:
                rejected.append(problem(f.name, exc.line, None, exc.template, **exc.params))
                continue
            if f.kind == "bpmn":
                rejected += [problem(f.name, line, element, template, **params)
                             for line, element, template, params in refused_elements(root)]
        elif f.kind == "json" and not is_catalog(f.name):
            rejected += [problem(f.name, line, None, template, **params)
                         for line, template, params in form_file_problems(f)]
    if rejected:  # report every unreadable file and unsupported element at once; the rest cannot be checked
        return None, rejected
    try:
        bundle = parse_bundle(files)
    except XmlRejected as exc:
        return None, [problem(getattr(exc, "filename", "?"), exc.line, None, exc.template, **exc.params)]
    except ValidationException as exc:
        return None, [_spiff_problem(exc, exc.file_name or "?", exc.line_number or None, exc.id or None)]
    except (ValueError, SpiffWorkflowException) as exc:
        return None, [Problem("?", None, None, str(exc))]
    if not bundle.process_ids:
        return bundle, [problem(files[0].name if files else "?", None, None, N_("no executable process found"))]
    checker = _Checker(bundle, policy)
    for process_id in bundle.process_ids:
        checker.check_process(process_id)
    from engine.runtime.decisions import decision_problems  # decisions imports this module
    return bundle, checker.problems + decision_problems(bundle, policy) + catalog_problems(files)


def catalog_problems(files: list[SourceFile]) -> list[Problem]:
    """An English catalog must belong to a BPMN/DMN file of the set and name only elements that exist in it."""
    from engine.runtime.catalog import catalog_pairs, read_catalog, worded_elements

    problems = []
    for catalog, model in catalog_pairs(files):
        if model is None:
            problems.append(problem(catalog.name, None, None, N_("no BPMN or DMN file of that name is beside it to "
                                                                 "translate")))
            continue
        try:
            entries = read_catalog(catalog.data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(problem(catalog.name, None, None, N_("not a valid catalog: %(error)s"), error=str(exc)))
            continue
        known = worded_elements(model.data)
        for element_id in entries:
            if element_id not in known:
                problems.append(problem(catalog.name, None, element_id,
                                        N_("translates element '%(id)s', which %(model)s does not have (or "
                                           "which has no name)"), id=element_id, model=model.name))
    return problems


def untranslated(files: list[SourceFile]) -> list[Problem]:
    """Warnings, not refusals: names and instructions a BPMN/DMN file shows that its English catalog lacks."""
    from engine.runtime.catalog import catalog_for, read_catalog, worded_elements

    by_name = {f.name: f for f in files}
    warnings = []
    for model in files:
        if model.kind not in ("bpmn", "dmn"):
            continue
        catalog = by_name.get(catalog_for(model.name))
        try:
            entries = read_catalog(catalog.data.decode("utf-8")) if catalog else {}
        except (ValueError, UnicodeDecodeError):
            continue  # reported by catalog_problems
        for element_id, text in worded_elements(model.data).items():
            entry = entries.get(element_id, {})
            missing = tuple(key for key in ("name", "instructions") if getattr(text, key) and not entry.get(key))
            if missing:
                warnings.append(problem(catalog_for(model.name), None, element_id, UNTRANSLATED[missing],
                                        label=text.name or element_id))
    return warnings


def _spiff_message(exc: ValidationException) -> str:
    msg = str(exc).split("\n")[0]
    return msg.replace("Time Specification Error. ", "timer expression error: ")


def _spiff_problem(exc, file: str, line: int | None, element: str | None) -> Problem:
    """A model error: ours carry a template; SpiffWorkflow's own messages are English only."""
    if getattr(exc, "template", None):
        return problem(file, line, element, exc.template, **exc.params)
    return Problem(file, line, element, _spiff_message(exc))


class _Checker:
    def __init__(self, bundle: ParsedBundle, policy: PolicySet):
        self.bundle = bundle
        self.policy = policy
        self.known_roles = lane_roles(policy)
        self.problems: list[Problem] = []

    def problem(self, element_id: str | None, template: str, **params):
        file = self.bundle.element_file.get(element_id or "", "?")
        line = self.bundle.lines.get((file, element_id or ""))
        self.problems.append(problem(file, line, element_id, template, **params))

    def spiff_problem(self, element_id: str, exc):
        file = self.bundle.element_file.get(element_id or "", "?")
        self.problems.append(_spiff_problem(exc, file, self.bundle.lines.get((file, element_id or "")), element_id))

    def check_process(self, process_id: str):
        parser = self.bundle.parser
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except (ValidationException, SpiffWorkflowException) as exc:
            self.spiff_problem(getattr(exc, "id", None) or process_id, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a model Spiff cannot read is a problem to report, not a crash
            self.problem(process_id, N_("process '%(process)s' cannot be read (%(error)s); open and save it again in "
                                        "a BPMN modeler"), process=process_id, error=f"{type(exc).__name__}: {exc}")
            return
        events, payers = set(), []
        for each in [spec, *subprocess_specs.values()]:
            for task_spec in each.task_specs.values():
                try:
                    self.check_task(task_spec)
                except Exception as exc:  # noqa: BLE001 - the element is named instead of a traceback
                    self.problem(getattr(task_spec, "bpmn_id", None) or process_id,
                                 N_("'%(label)s' cannot be checked (%(error)s); correct its properties or redraw it"),
                                 label=getattr(task_spec, "bpmn_name", None) or task_spec.name,
                                 error=f"{type(exc).__name__}: {exc}")
                props = user_task_properties(task_spec)
                events.add(props.get("loan_event"))
                if props.get("payment"):
                    payers.append(task_spec)
        for payer in payers:
            for event in ("approved", "released"):
                if event not in events:
                    self.problem(payer.bpmn_id, N_("user task '%(label)s' pays out, but no step of process "
                                                   "'%(process)s' declares loan_event '%(event)s'; the engine would "
                                                   "refuse every payment"),
                                 label=payer.bpmn_name or payer.bpmn_id, process=process_id, event=event)

    def check_task(self, ts):
        bpmn_id = getattr(ts, "bpmn_id", None)
        if bpmn_id is None:
            return
        label = f"{ts.bpmn_name or bpmn_id}"
        loan_event = user_task_properties(ts).get("loan_event")
        if loan_event and loan_event not in LOAN_EVENTS:
            self.problem(bpmn_id, N_("'%(label)s' declares loan_event '%(event)s'; known: %(known)s"), label=label,
                         event=loan_event, known=", ".join(LOAN_EVENTS))
        if isinstance(ts, UserTask):
            self.check_user_task(ts, bpmn_id, label)
        else:
            for template, params in recorded_duty_problems(self.policy, label, user_task_properties(ts).get("duty")):
                self.problem(bpmn_id, template, **params)
        for condition, target in getattr(ts, "cond_task_specs", []) or []:
            if condition is not None:
                flow = self.bundle.flows.get((bpmn_id, target), bpmn_id)
                self.expression(flow, condition.args[0], "gateway condition")
        if isinstance(ts, ScriptEngineTask) and getattr(ts, "script", None):
            self.script(bpmn_id, ts.script, "script")
        for attr in ("prescript", "postscript"):
            if getattr(ts, attr, None):
                self.script(bpmn_id, getattr(ts, attr), attr)
        if isinstance(ts, LoopTask) or hasattr(ts, "cardinality"):
            for attr in ("cardinality", "condition"):
                if getattr(ts, attr, None):
                    self.expression(bpmn_id, getattr(ts, attr), f"multi-instance {attr}")
        event = getattr(ts, "event_definition", None)
        if event is not None and type(event) in CLOCKED.values():
            self.expression(bpmn_id, event.expression, "timer expression")
        if isinstance(ts, BusinessRuleTaskMixin):
            self.check_decision(ts, bpmn_id)

    def check_user_task(self, ts, bpmn_id, label):
        props = user_task_properties(ts)
        if not ts.lane:
            self.problem(bpmn_id, N_("user task '%(label)s' is not in a lane; put it in the lane of the role that does "
                                     "it"), label=label)
        elif ts.lane not in self.known_roles:
            self.problem(bpmn_id, N_("user task '%(label)s' is in lane '%(lane)s', which is not a known role (known: "
                                     "%(known)s)"), label=label, lane=ts.lane,
                         known=", ".join(sorted(self.known_roles)))
        if not props.get("duty"):
            self.problem(bpmn_id, N_("user task '%(label)s' declares no duty; add the extension property 'duty'"),
                         label=label)
        else:
            for template, params in duty_problems(self.policy, label, props["duty"], ts.lane, self.known_roles):
                self.problem(bpmn_id, template, **params)
        if props.get("assignee"):
            self.expression(bpmn_id, props["assignee"], "assignee expression")
        if props.get("due") and not props["due"].upper().startswith("P"):
            self.expression(bpmn_id, props["due"], "due expression")
        elif props.get("due"):
            try:
                duration_from(props["due"], REFERENCE_DAY)
            except (ValueError, OverflowError) as exc:
                self.problem(bpmn_id, N_("user task '%(label)s' has due '%(due)s': %(error)s"), label=label,
                             due=props["due"], error=str(exc))
        form = props.get("form")
        if not form:
            self.problem(bpmn_id, N_("user task '%(label)s' declares no form; add the extension property 'form'"),
                         label=label)
            return
        path = form_path(self.bundle.element_file.get(bpmn_id, ""), form)
        schema = self.bundle.forms.get(path)
        if schema is None:
            self.problem(bpmn_id, N_("user task '%(label)s' names form '%(form)s', which was not found next to the "
                                     "BPMN file"), label=label, form=form)
            return
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            self.problem(bpmn_id, N_("form '%(form)s' is not a valid JSON Schema: %(error)s"), form=form,
                         error=exc.message)
        if "x-documents" in schema:  # the task's document checklist (versioned with the process)
            for message in checklist_problems(schema["x-documents"]):
                self.problem(bpmn_id, N_("form '%(form)s' declares a document checklist that cannot be used: "
                                         "%(reason)s"), form=form, reason=message)
        payment = props.get("payment")
        if payment and payment not in PAYMENT_MODES:
            self.problem(bpmn_id, N_("user task '%(label)s' declares payment '%(payment)s'; known: %(known)s"),
                         label=label, payment=payment, known=", ".join(PAYMENT_MODES))
        elif payment and "payment_amount" not in schema.get("properties", {}):
            self.problem(bpmn_id, N_("user task '%(label)s' pays out, but form '%(form)s' has no field "
                                     "'payment_amount'"), label=label, form=form)
        for ref in outside_references(schema):
            self.problem(bpmn_id, N_("form '%(form)s' refers to '%(ref)s'; a form may refer only inside itself "
                                     "('#/...')"), form=form, ref=ref)
        for pattern in risky_patterns(schema):
            self.problem(bpmn_id, N_("form '%(form)s' has the pattern '%(pattern)s', which repeats a repetition (such "
                                     "as (a+)+) and can hang on one input; write it without the nested quantifier"),
                         form=form, pattern=pattern)

    def check_decision(self, ts, bpmn_id):
        from engine.runtime.decisions import task_decision_problems
        self.problems += task_decision_problems(self.bundle, ts)

    def expression(self, element_id, source, what):
        try:
            compile_expression(source)
        except SyntaxError as exc:
            self.problem(element_id, EXPRESSION_INVALID[what], source=source, error=exc.msg)
        except ExpressionRejected as exc:
            self.problem(element_id, EXPRESSION_REFUSED[what], source=source, reason=inner(exc))
        else:
            for name, _line in unknown_calls(source, "eval"):
                self.problem(element_id, EXPRESSION_UNKNOWN_CALL[what], source=source, name=name,
                             functions=", ".join(sorted(CALLABLE_NAMES)))

    def script(self, element_id, source, what):
        try:
            compile_script(source)
        except SyntaxError as exc:
            self.problem(element_id, SCRIPT_INVALID[what], script_line=exc.lineno, error=exc.msg)
        except ExpressionRejected as exc:
            if exc.line:
                self.problem(element_id, SCRIPT_REFUSED[what], script_line=exc.line, reason=inner(exc))
            else:
                self.problem(element_id, SCRIPT_REFUSED_ANYWHERE[what], reason=inner(exc))
        else:
            for name, line in unknown_calls(source, "exec"):
                self.problem(element_id, SCRIPT_UNKNOWN_CALL[what], script_line=line, name=name,
                             functions=", ".join(sorted(CALLABLE_NAMES)))
