"""The English catalog kept beside each Chinese diagram: element names, instructions and notes in both languages."""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from engine.runtime.parser import CATALOG_SUFFIX, is_catalog, parse_xml

CATALOG_KEYS = ("name", "documentation", "instructions")
# Elements whose `name` is a variable or a correlation key, not words for people.
UNWORDED = {"message", "property", "inputDataItem", "outputDataItem", "dataInput", "dataOutput"}


def catalog_for(model_file: str) -> str:
    """The catalog's file name for a BPMN or DMN file."""
    path = PurePosixPath(model_file)
    return str(path.with_name(path.stem + CATALOG_SUFFIX))


def form_file(bpmn_file: str, form: str) -> str:
    """Forms are referenced relative to the BPMN file that names them."""
    return str(PurePosixPath(bpmn_file).parent / form) if "/" in bpmn_file else form


def catalog_pairs(files) -> list:
    """(catalog file, the BPMN/DMN file it translates or None) for every catalog among the files."""
    models = {catalog_for(f.name): f for f in files if f.kind in ("bpmn", "dmn")}
    return [(f, models.get(f.name)) for f in files if is_catalog(f.name)]


def locale_language(locale: str | None) -> str:
    """zh_CN, zh, zh_Hans_CN -> zh; anything else -> en."""
    return "zh" if str(locale or "").lower().startswith("zh") else "en"


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class ModelText:
    """What one element says to people, in the diagram's own language."""

    name: str | None = None
    documentation: str | None = None
    instructions: str | None = None


def task_forms(xml: bytes) -> dict[str, str]:
    """User task id -> the form it names (its `form` extension property)."""
    forms = {}
    for task in parse_xml(xml).iter():
        if _local(task.tag) == "userTask" and task.get("id"):
            for prop in task.iter():
                if _local(prop.tag) == "property" and prop.get("name") == "form" and prop.get("value"):
                    forms[task.get("id")] = prop.get("value")
    return forms


def worded_elements(xml: bytes) -> dict[str, ModelText]:
    """Element id -> its name (a DMN column's label), documentation (DMN description) and instructions."""
    root = parse_xml(xml)
    found: dict[str, ModelText] = {}
    for node in root.iter():
        tag = _local(node.tag)
        if not tag:
            continue
        element_id = node.get("id")
        attr = "label" if node.get("label") is not None else "name"
        if element_id and node.get(attr) is not None and tag not in UNWORDED:
            found.setdefault(element_id, ModelText()).name = node.get(attr)
        if tag in ("documentation", "description", "instructionsForEndUser") and node.text:
            owner = node.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            if owner is not None:
                text = found.setdefault(owner.get("id"), ModelText())
                if tag == "instructionsForEndUser":
                    text.instructions = node.text
                else:
                    text.documentation = node.text
    return found


def read_catalog(text: str) -> dict[str, dict[str, str]]:
    """Element id -> {name, documentation, instructions}; raises ValueError on a malformed catalog."""
    data = json.loads(text)
    elements = data.get("elements") if isinstance(data, dict) else None
    if not isinstance(elements, dict):
        raise ValueError('a catalog is a JSON object with "elements": {element id: {"name": ...}}')
    for element_id, entry in elements.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k, ""), str) for k in CATALOG_KEYS):
            raise ValueError(f"the entry of '{element_id}' must be an object of texts "
                             f"({', '.join(CATALOG_KEYS)})")
        unknown = set(entry) - set(CATALOG_KEYS)
        if unknown:
            raise ValueError(f"the entry of '{element_id}' has unknown keys: {', '.join(sorted(unknown))}")
    return elements


@dataclass
class ProcessTexts:
    """One process version's words in both languages, read once per bundle (immutable, keyed by its sha256)."""

    zh: dict[str, ModelText] = field(default_factory=dict)
    en: dict[str, ModelText] = field(default_factory=dict)
    diagrams: dict[str, str] = field(default_factory=dict)  # BPMN file -> its XML
    english: dict[str, dict] = field(default_factory=dict)  # BPMN file -> its catalog entries
    fields: dict[str, dict] = field(default_factory=dict)  # form field -> its JSON Schema (titles, choices)
    step_fields: dict[str, dict] = field(default_factory=dict)  # user task id -> its form's fields
    choices: dict[str, dict] = field(default_factory=dict)  # a choice's value -> a field offering it, with titles

    @classmethod
    def of(cls, files: dict[str, str]) -> "ProcessTexts":
        texts = cls()
        forms = {}
        for name in sorted(files):
            if name.startswith("forms/") and name.endswith(".json"):
                properties = json.loads(files[name]).get("properties") or {}
                forms[name] = {k: v for k, v in properties.items() if isinstance(v, dict)}
                for field_name, prop in forms[name].items():
                    texts.fields.setdefault(field_name, prop)
                    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
                    for choice_prop in (prop, items):
                        if choice_prop.get("x-enum-titles") or choice_prop.get("x-enum-titles-zh"):
                            for value in choice_prop.get("enum") or []:
                                texts.choices.setdefault(str(value), choice_prop)
        for name, content in files.items():
            if name.endswith(".bpmn"):
                for element_id, form in task_forms(content.encode("utf-8")).items():
                    texts.step_fields[element_id] = forms.get(form_file(name, form), {})
        for name, content in files.items():
            if PurePosixPath(name).suffix not in (".bpmn", ".dmn"):
                continue
            own = worded_elements(content.encode("utf-8"))
            catalog_text = files.get(catalog_for(name))
            catalog = read_catalog(catalog_text) if catalog_text else None
            if name.endswith(".bpmn"):
                texts.diagrams[name] = content
                texts.english[name] = catalog or {}
            for element_id, text in own.items():
                if catalog is None:  # an older diagram without a catalog: its words are in an unknown language
                    texts.en[element_id] = text
                    continue
                texts.zh[element_id] = text
                entry = catalog.get(element_id, {})
                texts.en[element_id] = ModelText(entry.get("name") or text.name,
                                                 entry.get("documentation") or text.documentation,
                                                 entry.get("instructions") or text.instructions)
        return texts

    def text(self, element_id: str, locale: str | None) -> ModelText | None:
        return (self.zh if locale_language(locale) == "zh" else self.en).get(element_id)

    def diagram(self, file_name: str, locale: str | None) -> str:
        """The BPMN as stored (Chinese), or with every name put in English from its catalog."""
        xml = self.diagrams[file_name]
        entries = self.english.get(file_name) or {}
        if locale_language(locale) == "zh" or not entries:
            return xml
        names = {k: v["name"] for k, v in entries.items() if v.get("name")}

        def rename(match: re.Match) -> str:
            tag = match.group(0)
            element_id = re.search(r'\bid="([^"]*)"', tag)
            if not element_id or element_id.group(1) not in names:
                return tag
            english = names[element_id.group(1)].replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            return re.sub(r'\bname="[^"]*"', lambda _m: f'name="{english}"', tag, count=1)

        return re.sub(r"<(?!/)[A-Za-z][\w:.-]*\b[^>]*\bname=\"[^\"]*\"[^>]*>", rename, xml)


class TextsCache:
    """Process words per bundle sha256, shared by every request of this process (read-only once built)."""

    def __init__(self):
        self._cache: dict[str, ProcessTexts] = {}
        self._lock = threading.Lock()

    def get(self, sha256: str, files) -> ProcessTexts:
        texts = self._cache.get(sha256)
        if texts is None:
            texts = ProcessTexts.of(files() if callable(files) else files)
            with self._lock:
                self._cache[sha256] = texts
        return texts
