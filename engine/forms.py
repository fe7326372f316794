"""Task forms: JSON Schemas shipped next to the BPMN; data is validated before anything changes."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import jsonschema
from referencing import Registry

# Message templates are msgids: the web layer translates them with the same text.
MESSAGES = {
    "required": "This field is required.",
    "type": "Must be %(expected)s.",
    "enum": "Must be one of: %(choices)s.",
    "minimum": "Must be at least %(limit)s.",
    "maximum": "Must be at most %(limit)s.",
    "exclusiveMinimum": "Must be more than %(limit)s.",
    "exclusiveMaximum": "Must be less than %(limit)s.",
    "fen": "At most 2 decimal places (fen).",
    "maxLength": "Must be at most %(limit)s characters.",
    "minLength": "Must not be empty.",
    "minItems": "Choose at least %(limit)s.",
    "format": "Must be a valid %(format)s.",
    "additionalProperties": "Unknown field.",
    "other": "Invalid value.",
}
TYPE_WORDS = {"number": "a number", "integer": "a whole number", "string": "text", "boolean": "yes or no",
              "array": "a list", "object": "an object"}


# An empty registry that retrieves nothing: a `$ref` outside the form is unresolvable, never fetched.
NO_RETRIEVAL = Registry()


_VALIDATORS: dict[int, tuple[dict, jsonschema.Draft202012Validator]] = {}


def validator_for(schema: dict) -> jsonschema.Draft202012Validator:
    """One validator per form schema (a deployed form is the same dict for the life of the process); the schema is
    kept with it, so its id is not reused while cached."""
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    if len(_VALIDATORS) > 512:
        _VALIDATORS.clear()
    validator = jsonschema.Draft202012Validator(schema, registry=NO_RETRIEVAL,
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def form_errors(schema: dict, data: dict, fen: bool = True) -> dict[str, tuple[str, dict]]:
    """Field name -> (message template, params); empty when the data is valid. `fen`: refuse amounts in CNY with
    more than two decimal places (a payment task leaves that to the payment check, which records the refusal)."""
    errors: dict[str, tuple[str, dict]] = {}
    for err in validator_for(schema).iter_errors(data):
        kind = err.validator
        if kind == "required":
            field = err.message.split("'")[1]
            errors.setdefault(field, (MESSAGES["required"], {}))
            continue
        if kind == "additionalProperties":
            for extra in sorted(set(data) - set(schema.get("properties", {}))):
                errors.setdefault(extra, (MESSAGES["additionalProperties"], {}))
            continue
        field = str(err.absolute_path[0]) if err.absolute_path else "_form"
        params = {}
        if kind == "type":
            params = {"expected": TYPE_WORDS.get(err.validator_value, err.validator_value)}
        elif kind == "enum":
            params = {"choices": ", ".join(map(str, err.validator_value))}
        elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "maxLength", "minItems"):
            params = {"limit": err.validator_value}
        elif kind == "format":
            params = {"format": err.validator_value}
        if kind == "minLength" and err.validator_value > 1:
            kind = "other"
        errors.setdefault(field, (MESSAGES.get(kind, MESSAGES["other"]), params))
    for name, prop in schema.get("properties", {}).items() if fen else ():  # yuan and fen, never rounded
        value = data.get(name)
        if prop.get("x-unit") == "CNY" and name not in errors and isinstance(value, (int, float, Decimal)) \
                and not isinstance(value, bool):
            exponent = Decimal(str(value)).normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < -2:
                errors[name] = (MESSAGES["fen"], {})
    return errors


def coerce_form(schema: dict, data: dict) -> dict:
    """Money and other numbers become Decimal (exact), after validation."""
    out = dict(data)
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "number" and isinstance(out.get(name), (int, float)) and not isinstance(out[name], bool):
            try:
                out[name] = Decimal(str(out[name]))
            except InvalidOperation:  # pragma: no cover - validated as a number already
                pass
    return out


def user_fields(schema: dict) -> dict[str, str | None]:
    """Fields that name users ("format": "username"), with the role they must hold."""
    found = {}
    for name, prop in schema.get("properties", {}).items():
        target = prop.get("items", {}) if prop.get("type") == "array" else prop
        if target.get("format") == "username":
            found[name] = target.get("x-role")
    return found
