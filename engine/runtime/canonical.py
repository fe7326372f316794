"""What a process file means, not how a modeler laid it out: the form a version's sha256 is taken over, so
opening and saving a file with no change deploys nothing."""
from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath

from lxml import etree

from engine.runtime.parser import XmlRejected, parse_xml

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
# Attributes a modeler rewrites on every save (which program, which release) without changing the model.
TOOL_ATTRIBUTES = {"exporter", "exporterVersion"}
# Attributes written with BPMN's default value mean the same as left out (bpmn-js leaves them out on save).
DEFAULT_VALUES = {("cancelActivity", "true"), ("isInterrupting", "true"), ("parallelMultiple", "false"),
                  ("isForCompensation", "false"), ("isImmediate", "true"), ("triggeredByEvent", "false")}


def meaningful(name: str, value: str) -> bool:
    """False for what changes nothing: the modeler's signature, an attribute holding its BPMN default."""
    return name not in TOOL_ATTRIBUTES and (name, value) not in DEFAULT_VALUES


def _qname_value(node, value: str) -> str:
    """`bpmn:tFormalExpression` and `tFormalExpression` under a default namespace are the same type."""
    prefix, _, local = value.rpartition(":")
    namespace = node.nsmap.get(prefix or None)
    return f"{{{namespace}}}{local}" if namespace else value


def _element(node) -> list:
    attributes = sorted((name, _qname_value(node, value) if name == XSI_TYPE else value)
                        for name, value in node.attrib.items() if meaningful(name, value))
    content = []
    if node.text and node.text.strip():
        content.append(node.text.strip())
    for child in node:
        if isinstance(child.tag, str):  # comments and processing instructions say nothing about the model
            content.append(_element(child))
        if child.tail and child.tail.strip():
            content.append(child.tail.strip())
    return [node.tag, attributes, content]


def canonical_text(name: str, text: str) -> str:
    """XML by element (Clark names), sorted attributes and stripped text; JSON with sorted keys; else as is."""
    kind = PurePosixPath(name).suffix.lower()
    try:
        if kind in (".bpmn", ".dmn"):
            return json.dumps(_element(parse_xml(text.encode("utf-8"))), ensure_ascii=False, separators=(",", ":"))
        if kind == ".json":
            return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except (XmlRejected, etree.LxmlError, ValueError):
        pass  # a file that does not parse is compared as written
    return text


def canonical_sha256(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + canonical_text(name, files[name]).encode() + b"\0")
    return digest.hexdigest()
