"""Turns BPMN/DMN bytes into SpiffWorkflow specs, treating the files as untrusted input."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser

from policies import N_

from engine.roles import ROLES
from engine.runtime.task_types import AutomaticTask
from engine.runtime.timers import BoundaryEventParser, IntermediateCatchEventParser, StartEventParser
from engine.runtime.dmn_files import feel_engine, read_dmn

MAX_FILE_BYTES = 1_000_000
# `origination.bpmn` is translated by `origination.en.json` beside it (see engine/runtime/catalog.py).
CATALOG_SUFFIX = ".en.json"


def is_catalog(file_name: str) -> bool:
    return file_name.endswith(CATALOG_SUFFIX) and "/" not in file_name


ROLE_BY_NAME = {name: role for role, name in ROLES.items()}


def lane_role(lane_name: str | None) -> str | None:
    """A lane is named with the role's Chinese name (客户经理) or its id (customer_manager); the engine uses the id."""
    if lane_name is None:
        return None
    name = lane_name.strip()
    return ROLE_BY_NAME.get(name, name)


def model_error(template: str, file_name: str, id: str = "", line_number: int | str = "",
                **params) -> ValidationException:
    """Spiff's error for a model it cannot read, carrying its message as a template for the reader's language."""
    exc = ValidationException(template % params if params else template, file_name=file_name, id=id,
                              line_number=line_number)
    exc.template, exc.params = template, params
    return exc


# Extension properties as the Camunda 7 and Camunda 8 modelers write them, read like spiffworkflow:properties.
MODELER_NAMESPACES = ("http://camunda.org/schema/1.0/bpmn", "http://camunda.org/schema/zeebe/1.0")


def modeler_decision(node) -> str | None:
    """The decision a business rule task calls, as Camunda 7 (`camunda:decisionRef`) or 8
    (`zeebe:calledDecision decisionId`) writes it."""
    camunda, zeebe = MODELER_NAMESPACES
    called = node.find(f"{full_tag('extensionElements')}/{{{zeebe}}}calledDecision")
    return node.get(f"{{{camunda}}}decisionRef") or (called.get("decisionId") if called is not None else None)


def modeler_properties(node) -> dict[str, str]:
    """`camunda:properties` / `zeebe:properties` of one element, name -> value."""
    found = {}
    for ns in MODELER_NAMESPACES:
        for prop in node.iterfind(f"{full_tag('extensionElements')}/{{{ns}}}properties/{{{ns}}}property"):
            if prop.get("name"):
                found[prop.get("name")] = prop.get("value", "")
    return found


class ModelerPropertiesMixin:
    """Extension properties, and the decision a business rule task calls, from spiffworkflow:, camunda: and zeebe:
    alike (Spiff's own win on a clash)."""

    def parse_extensions(self, node=None):
        node = self.node if node is None else node
        try:
            extensions = super().parse_extensions(node)
        except KeyError as exc:  # Spiff reads a property's name and value without asking
            raise model_error(N_("an extension property of this element has no '%(attribute)s'; write each as "
                                 '<spiffworkflow:property name="..." value="..." />'), file_name=self.filename,
                              id=node.get("id", ""), line_number=node.sourceline, attribute=exc.args[0]) from None
        foreign = modeler_properties(node)
        if foreign:
            extensions["properties"] = {**foreign, **(extensions.get("properties") or {})}
        if not extensions.get("calledDecisionId") and modeler_decision(node):
            extensions["calledDecisionId"] = modeler_decision(node)
        return extensions

    @staticmethod
    def get_decision_ref(node):
        """The decision a business rule task calls (Spiff asks this of the parser class, not of an instance)."""
        return SpiffTaskParser._parse_extensions(node).get("calledDecisionId") or modeler_decision(node)


def _reading_modeler_properties(parsers: dict) -> dict:
    return {tag: (type(parser.__name__, (ModelerPropertiesMixin, parser), {}), spec)
            for tag, (parser, spec) in parsers.items()}


class CreditflowBpmnParser(SpiffBpmnParser):
    """Spiff's parser with engine-clock timers, lanes read as role ids, plain tasks run through on their own, and
    extension properties read whichever modeler wrote them."""

    OVERRIDE_PARSER_CLASSES = _reading_modeler_properties({
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("task"): (SpiffTaskParser, AutomaticTask),
        full_tag("startEvent"): (StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (BoundaryEventParser, BoundaryEvent),
    })

    def _add_diagram_indexes(self, bpmn):
        super()._add_diagram_indexes(bpmn)
        lanes = self.document_lanes.get(self._document_key(bpmn), {})
        for node_id, name in lanes.items():
            lanes[node_id] = lane_role(name)

    # Decision tables: read strictly, evaluated with FEEL cells (engine/runtime/dmn_files.py, feel.py).

    def add_dmn_xml(self, node, filename=None):
        read_dmn(super().add_dmn_xml, node, filename, strict=self.validator is not None)

    def get_engine(self, decision_ref, node):
        unreadable = self.__dict__.setdefault("unreadable_decisions", set())  # reported when a process called them
        return feel_engine(super().get_engine, self.dmn_parsers.get(decision_ref), unreadable, decision_ref, node)


def hardened_xml_parser() -> etree.XMLParser:
    """No entity expansion, no DTD loading, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, dtd_validation=False, huge_tree=False,
    )


class XmlRejected(ValueError):
    """The bytes are not acceptable XML for a process definition; `template` and `params` say why in any language."""

    def __init__(self, template: str, line: int | None = None, **params):
        super().__init__(template % params if params else template)
        self.line = line
        self.template = template
        self.params = params


def parse_xml(data: bytes) -> etree._Element:
    """Parse process XML safely: size cap, no doctype, no entities."""
    if len(data) > MAX_FILE_BYTES:
        raise XmlRejected(N_("file is %(size)s bytes; the limit is %(limit)s bytes"), size=f"{len(data):,}",
                          limit=f"{MAX_FILE_BYTES:,}")
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        at = data.find(marker)
        if at >= 0:
            raise XmlRejected(N_("DOCTYPE and ENTITY declarations are not allowed in process files"),
                              data.count(b"\n", 0, at) + 1)
    try:
        root = etree.fromstring(data, hardened_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(N_("not well-formed XML: %(error)s"), exc.lineno, error=exc.msg) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlRejected(N_("a DOCTYPE declaration is not allowed in process files"), 1)
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise XmlRejected(N_("the entity reference &%(entity)s; is not allowed"), node.sourceline, entity=node.name)
    return root


@dataclass
class SourceFile:
    """One uploaded file: its name (relative, posix) and bytes."""

    name: str
    data: bytes

    @property
    def kind(self) -> str:
        return PurePosixPath(self.name).suffix.lstrip(".").lower()


@dataclass
class ParsedBundle:
    """Specs parsed from a set of files, plus what validation needs to report well."""

    parser: CreditflowBpmnParser
    process_ids: list[str]
    lines: dict[tuple[str, str], int] = field(default_factory=dict)  # (file, element id) -> line
    element_file: dict[str, str] = field(default_factory=dict)  # element id -> file
    forms: dict[str, dict] = field(default_factory=dict)  # form path -> schema
    flows: dict[tuple[str, str], str] = field(default_factory=dict)  # (source id, target id) -> flow id
    checked_decisions: set[str] = field(default_factory=set)  # decision tables validation has looked at


def parse_bundle(files: list[SourceFile], xsd_validate: bool = True) -> ParsedBundle:
    """Parse BPMN and DMN files together; raises XmlRejected or Spiff's ValidationException."""
    parser = CreditflowBpmnParser(validator=VALIDATOR if xsd_validate else None)
    bundle = ParsedBundle(parser=parser, process_ids=[])
    for f in files:
        if f.kind not in ("bpmn", "dmn"):
            continue
        try:
            root = parse_xml(f.data)
        except XmlRejected as exc:
            exc.args = (f"{f.name}: {exc.args[0]}",)
            exc.filename = f.name
            raise
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            element_id = node.get("id")
            if element_id:
                bundle.lines[(f.name, element_id)] = node.sourceline
                bundle.element_file.setdefault(element_id, f.name)
                if node.tag == full_tag("sequenceFlow"):
                    bundle.flows[(node.get("sourceRef"), node.get("targetRef"))] = element_id
        try:
            _add_model(parser, bundle, f, root)
        except ValidationException as exc:
            exc.file_name = exc.file_name or f.name
            raise
        except Exception as exc:  # Spiff's readers assume a well-formed model; whatever else breaks is this file's
            raise model_error(N_("cannot be read as %(kind)s (%(error)s); open and save it again in a BPMN/DMN "
                                 "modeler"), file_name=f.name, kind=f.kind.upper(),
                              error=f"{type(exc).__name__}: {exc}") from exc
    for f in files:
        if f.kind == "json" and not is_catalog(f.name):
            bundle.forms[f.name] = json.loads(f.data)
    return bundle


def form_file_problems(f: SourceFile) -> list[tuple[int | None, str, dict]]:
    """(line, message template, its parameters) when a form is not UTF-8 JSON holding one object (its JSON Schema)."""
    try:
        schema = json.loads(f.data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return [(None, N_("is not UTF-8 text (%(reason)s at byte %(byte)s); save it as UTF-8"),
                 {"reason": exc.reason, "byte": exc.start})]
    except json.JSONDecodeError as exc:
        return [(exc.lineno, N_("is not valid JSON: %(error)s (column %(column)s)"),
                 {"error": exc.msg, "column": exc.colno})]
    if not isinstance(schema, dict):
        return [(None, N_("holds a JSON %(kind)s; a form is a JSON object (a JSON Schema with 'type': 'object' and "
                          "'properties')"), {"kind": type(schema).__name__})]
    return []


def _add_model(parser: CreditflowBpmnParser, bundle: ParsedBundle, f: SourceFile, root) -> None:
    if f.kind == "dmn":
        parser.add_dmn_xml(root, filename=f.name)
        return
    executable = [proc for proc in root.iterfind(full_tag("process"))
                  if proc.get("isExecutable", "true").lower() == "true"]
    for proc in executable:
        if not proc.get("id"):
            raise model_error(N_("this process has no id; give it one (the process id is how loans name it)"),
                              file_name=f.name, line_number=proc.sourceline)
    parser.add_bpmn_xml(root, filename=f.name)
    bundle.process_ids += [proc.get("id") for proc in executable]
