"""What a redesign changes, in words: two file sets (BPMN, DMN, forms, catalogs) compared element by element.

Each change carries an English gettext template and its parameters, so the reader's language is chosen where it
is shown; element names come in both languages (`name` from the English catalog, `name_zh` from the diagram)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable

from engine.runtime.catalog import catalog_for, read_catalog
from engine.runtime.parser import XmlRejected, is_catalog


def N_(message: str) -> str:
    """Marks a template for extraction; it is translated where the change is shown."""
    return message


ADDED, REMOVED, CHANGED = "added", "removed", "changed"
TYPE_PARAMS = {"type", "old_type"}  # parameters that are element types ("User task"), translated with the sentence
# What reading a file of the wrong shape raises (malformed XML or JSON, a form that is not an object, ...).
UNREADABLE = (XmlRejected, ValueError, TypeError, AttributeError, KeyError)


@dataclass(frozen=True)
class Change:
    """One difference a reviewer should read: what kind of element, which one, in which file, and the sentence."""

    kind: str  # added, removed or changed
    what: str  # process, task, event, gateway, lane, duty, form, stage, assignee, due, property, condition, ...
    element: str | None
    file: str
    template: str
    params: dict = field(default_factory=dict)
    process: str | None = None  # the BPMN process the element is drawn in (to mark it on the diagram)

    def text(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        """The sentence in the language of `gettext`; element types ("User task") are translated too."""
        params = dict(self.params)
        for key in TYPE_PARAMS & set(params):
            params[key] = gettext(params[key])
        try:
            return gettext(self.template) % params
        except (KeyError, TypeError, ValueError):
            return self.template % params


def named(prefix: str, english: str | None, chinese: str | None, fallback: str) -> dict:
    """`prefix` in English (the catalog's word) and `prefix_zh` (the diagram's own), both falling back to the id."""
    return {prefix: english or chinese or fallback, f"{prefix}_zh": chinese or english or fallback}


def shown(value) -> str:
    """A value as the reader sees it in a sentence: empty reads as a dash."""
    text = "" if value is None else str(value).strip()
    return text if text else "—"


def diff_bundles(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    """Every change from `old` to `new`, file by file (diagrams, decision tables, forms, English catalogs)."""
    from engine.runtime.diff_bpmn import diff_bpmn
    from engine.runtime.diff_dmn import diff_dmn

    changes: list[Change] = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        suffix = PurePosixPath(name).suffix.lower()
        try:
            if suffix == ".bpmn":
                changes += diff_bpmn(name, before, after, old.get(catalog_for(name)), new.get(catalog_for(name)))
            elif suffix == ".dmn":
                changes += diff_dmn(name, before, after)
            elif is_catalog(name):
                changes += diff_catalog(name, before, after)
            elif suffix == ".json":
                changes += diff_form(name, before, after)
            else:
                changes.append(file_change(name, before, after))
        except UNREADABLE:
            # not readable as its kind on one side (malformed JSON, a form that is not an object, ...): the file
            # changed, nothing finer; the deployment checks say what is wrong with it
            changes.append(file_change(name, before, after))
    return changes


def file_change(name: str, before: str | None, after: str | None) -> Change:
    if before is None:
        return Change(ADDED, "file", None, name, N_("File %(file)s added"), {"file": name})
    if after is None:
        return Change(REMOVED, "file", None, name, N_("File %(file)s removed"), {"file": name})
    return Change(CHANGED, "file", None, name, N_("File %(file)s changed"), {"file": name})


def _form_words(schema: dict, name: str) -> dict:
    return named("form", schema.get("title"), schema.get("x-title-zh"), PurePosixPath(name).name)


def _field_words(field_name: str, prop: dict) -> dict:
    return {"field": field_name, **named("title", prop.get("title"), prop.get("x-title-zh"), field_name)}


def diff_form(name: str, before: str | None, after: str | None) -> list[Change]:
    """A task form (JSON Schema): fields added, removed or changed, and what became required."""
    old, new = (json.loads(text) if text else None for text in (before, after))
    if old is None or new is None:
        schema = new if old is None else old
        words = {**_form_words(schema, name), "file": name}
        if old is None:
            return [Change(ADDED, "form", None, name, N_("Form %(form)s added (%(file)s)"), words)]
        return [Change(REMOVED, "form", None, name, N_("Form %(form)s removed (%(file)s)"), words)]
    words = _form_words(new, name)
    changes = []
    old_fields, new_fields = old.get("properties") or {}, new.get("properties") or {}
    old_required, new_required = set(old.get("required") or []), set(new.get("required") or [])
    for field_name in [*old_fields, *[f for f in new_fields if f not in old_fields]]:
        prop_old, prop_new = old_fields.get(field_name), new_fields.get(field_name)
        params = {**words, **_field_words(field_name, prop_new or prop_old or {})}
        if prop_old is None:
            changes.append(Change(ADDED, "form field", field_name, name,
                                  N_("Form %(form)s: field %(title)s (%(field)s) added"), params))
        elif prop_new is None:
            changes.append(Change(REMOVED, "form field", field_name, name,
                                  N_("Form %(form)s: field %(title)s (%(field)s) removed"), params))
        elif prop_old != prop_new:
            aspects = sorted(k for k in set(prop_old) | set(prop_new) if prop_old.get(k) != prop_new.get(k))
            changes.append(Change(CHANGED, "form field", field_name, name,
                                  N_("Form %(form)s: field %(title)s (%(field)s) changed: %(aspects)s"),
                                  {**params, "aspects": ", ".join(aspects)}))
        if prop_old is not None and prop_new is not None and (field_name in old_required) != (field_name in new_required):
            template = (N_("Form %(form)s: field %(title)s (%(field)s) is now required") if field_name in new_required
                        else N_("Form %(form)s: field %(title)s (%(field)s) is no longer required"))
            changes.append(Change(CHANGED, "form field", field_name, name, template, params))
    rest = sorted(k for k in (set(old) | set(new)) - {"properties", "required"} if old.get(k) != new.get(k))
    if rest:
        changes.append(Change(CHANGED, "form", None, name, N_("Form %(form)s: %(aspects)s changed"),
                              {**words, "aspects": ", ".join(rest)}))
    return changes


def diff_catalog(name: str, before: str | None, after: str | None) -> list[Change]:
    """The English words beside a diagram: which element's English name or text changed."""
    old = read_catalog(before) if before else {}
    new = read_catalog(after) if after else {}
    changes = []
    for element_id in sorted(set(old) | set(new)):
        entry_old, entry_new = old.get(element_id, {}), new.get(element_id, {})
        if entry_old == entry_new:
            continue
        params = {"element": element_id, "old": shown(entry_old.get("name")), "new": shown(entry_new.get("name"))}
        if entry_old.get("name") != entry_new.get("name"):
            changes.append(Change(CHANGED, "wording", element_id, name,
                                  N_("English name of %(element)s changed from %(old)s to %(new)s"), params))
        else:
            changes.append(Change(CHANGED, "wording", element_id, name,
                                  N_("English instructions or notes of %(element)s changed"), params))
    return changes


def diagram_marks(changes: list[Change]) -> dict[str, dict[str, dict[str, str]]]:
    """BPMN file -> {"old": {element id: kind}, "new": {element id: kind}}: what to mark on each side's diagram.

    Added elements exist only in the new diagram, removed ones only in the old; a changed one is marked on both."""
    marks: dict[str, dict[str, dict[str, str]]] = {}
    for change in changes:
        if not change.element or not change.file.endswith(".bpmn") or change.what == "layout":
            continue
        sides = marks.setdefault(change.file, {"old": {}, "new": {}})
        if change.kind in (CHANGED, REMOVED):
            sides["old"].setdefault(change.element, REMOVED if change.kind == REMOVED else CHANGED)
        if change.kind in (CHANGED, ADDED):
            sides["new"].setdefault(change.element, ADDED if change.kind == ADDED else CHANGED)
    return marks
