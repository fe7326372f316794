"""HTML forms drawn from a task's JSON Schema, and the submitted strings turned back into typed values."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .i18n import enum_label, field_help, field_title

LONG_TEXT = 300  # strings allowed to be longer than this get a text area


@dataclass
class Field:
    name: str
    title: str
    widget: str  # text, textarea, number, integer, checkbox, select, multi, date
    required: bool
    help: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    value: object = None
    error: str | None = None
    attrs: dict = field(default_factory=dict)

    def selected(self, option: str) -> bool:
        if isinstance(self.value, (list, tuple)):
            return option in [str(v) for v in self.value]
        return self.value is not None and str(self.value) == option


def build_fields(schema: dict, values: dict | None = None, errors: dict | None = None, people=None,
                 skip: tuple[str, ...] = ()) -> list[Field]:
    """Fields in schema order; `people(role, name)` lists who may be picked for a user field."""
    values, errors = values or {}, errors or {}
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        if name in skip or prop.get("readOnly"):
            continue
        f = Field(name, field_title(name, prop), _widget(prop), name in required, field_help(prop))
        items = prop.get("items", {}) if prop.get("type") == "array" else {}
        if prop.get("format") == "username" or items.get("format") == "username":
            role = prop.get("x-role") or items.get("x-role")
            f.options = [(u, u) if isinstance(u, str) else u for u in (people(role, name) if people else [])]
        elif "enum" in prop:
            f.options = [(str(v), enum_label(prop, v)) for v in prop["enum"]]
        elif "enum" in items:
            f.options = [(str(v), enum_label(items, v)) for v in items["enum"]]
        for key, attr in (("minimum", "min"), ("maximum", "max"), ("maxLength", "maxlength")):
            if key in prop:
                f.attrs[attr] = prop[key]
        f.value = values.get(name, prop.get("default"))
        f.error = errors.get(name)
        fields.append(f)
    return fields


def _widget(prop: dict) -> str:
    kind = prop.get("type")
    if kind == "array":
        return "multi"
    if "enum" in prop or prop.get("format") == "username":
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("number", "integer"):
        return kind
    if prop.get("format") == "date":
        return "date"
    if prop.get("x-widget") == "textarea" or prop.get("maxLength", 10_000) > LONG_TEXT:
        return "textarea"
    return "text"


def parse_submission(schema: dict, form, skip: tuple[str, ...] = ()) -> dict:
    """Typed values from a posted HTML form: numbers become int/Decimal, checkboxes booleans, blanks are left out.

    A value that does not parse is passed on as typed, so the engine's validation names the field.
    """
    data: dict = {}
    for name, prop in schema.get("properties", {}).items():
        if name in skip or prop.get("readOnly"):
            continue
        kind = prop.get("type")
        if kind == "array":
            data[name] = [_scalar(prop.get("items", {}), v) for v in form.getlist(name) if v != ""]
            continue
        if kind == "boolean":
            data[name] = form.get(name) in ("on", "true", "1", "yes")
            continue
        raw = form.get(name, "")
        if raw.strip() == "":
            if kind == "string" and "enum" not in prop and "format" not in prop and not prop.get("minLength"):
                data[name] = ""  # an empty text the schema accepts (e.g. conditions when there are none)
            continue
        data[name] = _scalar(prop, raw.strip())
    return data


MAX_NUMBER_CHARS = 40  # money has 18 digits; a longer "number" stays text and the form's schema refuses it


def _scalar(prop: dict, raw: str):
    kind = prop.get("type")
    if kind in ("integer", "number") and len(raw) > MAX_NUMBER_CHARS:
        return raw
    if "enum" in prop:
        for option in prop["enum"]:
            if str(option) == raw:
                return option
        return raw
    if kind == "integer":
        try:
            return int(raw.replace(",", ""))
        except ValueError:
            return raw
    if kind == "number":
        if "e" in raw.lower():  # 1e7: amounts are written in digits; the schema refuses the text
            return raw
        try:
            value = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            return raw
        if not value.is_finite():
            return raw
        return int(value) if value == value.to_integral_value() and "e" not in raw.lower() and "." not in raw else value
    return raw
