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

from engine.roles import ROLES
from engine.runtime.feel import FeelDecisionEngine
from engine.runtime.timers import BoundaryEventParser, IntermediateCatchEventParser, StartEventParser

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


class CreditflowBpmnParser(SpiffBpmnParser):
    """Spiff's parser with engine-clock timers, and lanes read as role ids."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (BoundaryEventParser, BoundaryEvent),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unreadable_decisions: set[str] = set()  # decisions whose table Spiff could not build

    def add_dmn_xml(self, node, filename=None):
        """Spiff's DMN reading, with whatever it trips over reported as a ValidationException on the file."""
        try:
            unreadable = dmn_shape_problem(node)
            if unreadable:
                message, element = unreadable
                raise UnreadableDecision(message, file_name=filename, id=element.get("id") or "",
                                          line_number=element.sourceline)
            super().add_dmn_xml(node, filename=filename)
        except ValidationException as exc:
            raise _located(exc, node, filename) from None
        except Exception as exc:  # noqa: BLE001 - Spiff raises IndexError, XPathEvalError... on DMN it cannot read
            raise _located(UnreadableDecision(_dmn_refusal(exc), file_name=filename), node, filename) from None

    def get_engine(self, decision_ref, node):
        """The decision's table, evaluated with FEEL input entries (Spiff parses the decision here, lazily)."""
        dmn_parser = self.dmn_parsers.get(decision_ref)
        try:
            table = super().get_engine(decision_ref, node).decision_table
        except ValidationException as exc:
            self.unreadable_decisions.add(decision_ref)
            raise _located(exc, getattr(dmn_parser, "node", None), getattr(dmn_parser, "filename", None)) from None
        except Exception as exc:  # noqa: BLE001
            self.unreadable_decisions.add(decision_ref)
            raise _located(UnreadableDecision(_dmn_refusal(exc), file_name=dmn_parser.filename),
                           dmn_parser.node, dmn_parser.filename) from None
        for rule in table.rules:  # dmn-js writes FEEL's true/false/null in output cells too
            for out in rule.outputEntries:
                out.text = FEEL_OUTPUT_LITERALS.get((out.text or "").strip(), out.text)
        return FeelDecisionEngine(table)

    def _add_diagram_indexes(self, bpmn):
        super()._add_diagram_indexes(bpmn)
        lanes = self.document_lanes.get(self._document_key(bpmn), {})
        for node_id, name in lanes.items():
            lanes[node_id] = lane_role(name)


class UnreadableDecision(ValidationException):
    """A DMN file this engine cannot run, said plainly (Spiff's own exceptions end their text with '. ')."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


FEEL_OUTPUT_LITERALS = {"true": "True", "false": "False", "null": "None"}
DMN_NAMESPACES = ("http://www.omg.org/spec/DMN/20151101/dmn.xsd", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "https://www.omg.org/spec/DMN/20191111/MODEL/")


def dmn_shape_problem(root) -> tuple[str, object] | None:
    """What Spiff's DMN reader would trip over (it runs one decision table per file), with the element to blame."""
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname == "definitions" and "/spec/DMN/" in namespace and namespace not in DMN_NAMESPACES:
        return f"this DMN version ({namespace}) is not supported; save the file as DMN 1.3", root
    if namespace not in DMN_NAMESPACES or etree.QName(root).localname != "definitions":
        return (f"not a DMN file: the root element is {etree.QName(root).localname} in namespace '{namespace}' "
                "(DMN 1.1, 1.2 or 1.3 definitions expected)", root)
    ns = {"dmn": namespace}
    decisions = root.findall("dmn:decision", ns)
    if len(decisions) != 1:
        held = f"{len(decisions)} decisions" if decisions else "no decision"
        return (f"the file holds {held}; this engine runs exactly one decision (a decision table) per DMN file: "
                "put each decision in a file of its own", decisions[1] if decisions else root)
    tables = decisions[0].findall("dmn:decisionTable", ns)
    if len(tables) != 1:
        kinds = ", ".join(sorted({etree.QName(c).localname for c in decisions[0] if isinstance(c.tag, str)}))
        return (f"decision '{decisions[0].get('id')}' has no decision table ({kinds}); this engine runs decision "
                "tables only", decisions[0])
    table = tables[0]
    inputs, outputs = table.findall("dmn:input", ns), table.findall("dmn:output", ns)
    for element in [decisions[0], table, *table.iter()]:
        name = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if name in ("decision", "input", "output", "rule", "inputEntry", "outputEntry") and not element.get("id"):
            return f"the {name} element has no id; every {name} needs one", element
    for rule in table.findall("dmn:rule", ns):
        for what, columns in (("inputEntry", inputs), ("outputEntry", outputs)):
            if len(rule.findall(f"dmn:{what}", ns)) != len(columns):
                return (f"rule '{rule.get('id')}' has {len(rule.findall(f'dmn:{what}', ns))} {what} cells for "
                        f"{len(columns)} columns", rule)
    return None


def _dmn_refusal(exc: Exception) -> str:
    if "DMNDI" in str(exc) or "schema" in type(exc).__name__.lower():
        return "this DMN version cannot be checked; save the file as DMN 1.3 (as dmn-js and Camunda Modeler do)"
    return ("not a decision table this engine can run: it needs one decision with one decision table, every "
            f"element with an id, in the DMN 1.1 or 1.3 namespace ({type(exc).__name__}: {exc})")


def _located(exc: ValidationException, root, filename: str | None) -> ValidationException:
    """Spiff leaves DMN errors without a line (it reads `line_number`, lxml says `sourceline`): find the element."""
    exc.file_name = exc.file_name or filename or ""
    if not exc.line_number and root is not None:
        found = root.xpath("//*[@id=$id]", id=exc.id) if getattr(exc, "id", "") else []
        exc.id = exc.id or (root.xpath("//*[local-name()='decision']/@id") or [""])[0]
        exc.line_number = (found[0] if found else root).sourceline
    return exc


def hardened_xml_parser() -> etree.XMLParser:
    """No entity expansion, no DTD loading, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, dtd_validation=False, huge_tree=False,
    )


class XmlRejected(ValueError):
    """The bytes are not acceptable XML for a process definition."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def parse_xml(data: bytes) -> etree._Element:
    """Parse process XML safely: size cap, no doctype, no entities."""
    if len(data) > MAX_FILE_BYTES:
        raise XmlRejected(f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,} bytes")
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        at = data.find(marker)
        if at >= 0:
            raise XmlRejected("DOCTYPE and ENTITY declarations are not allowed in process files",
                              data.count(b"\n", 0, at) + 1)
    try:
        root = etree.fromstring(data, hardened_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"not well-formed XML: {exc.msg}", exc.lineno) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlRejected("a DOCTYPE declaration is not allowed in process files", 1)
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise XmlRejected(f"the entity reference &{node.name}; is not allowed", node.sourceline)
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
        if f.kind == "bpmn":
            parser.add_bpmn_xml(root, filename=f.name)
            for proc in root.iterfind(full_tag("process")):
                if proc.get("isExecutable", "true").lower() == "true":
                    bundle.process_ids.append(proc.get("id"))
        else:
            parser.add_dmn_xml(root, filename=f.name)
    for f in files:
        if f.kind == "json" and not is_catalog(f.name):
            bundle.forms[f.name] = json.loads(f.data)
    return bundle
