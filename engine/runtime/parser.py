"""Turns BPMN/DMN bytes into SpiffWorkflow specs, treating the files as untrusted input."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.roles import ROLES
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


class CreditflowBpmnParser(SpiffBpmnParser):
    """Spiff's parser with engine-clock timers, and lanes read as role ids."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (BoundaryEventParser, BoundaryEvent),
    }

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
