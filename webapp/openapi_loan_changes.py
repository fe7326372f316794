"""The OpenAPI description of changes to a disbursed loan: extension, refinancing, restructuring."""
from __future__ import annotations

NO_NUL = "^[^\\x00]*$"
REFERENCE = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def loan_change_schemas() -> dict:
    return {
        "ExtensionRequest": {"type": "object", "required": ["months", "reason"], "additionalProperties": False,
                             "properties": {
                                 "months": {"type": "integer", "minimum": 1, "maximum": 360,
                                            "description": "At most the term for a loan of up to a year, half of it "
                                                           "up to five years, 36 months beyond"},
                                 "reason": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": NO_NUL}}},
        "ExtensionStarted": {"type": "object", "required": ["reference", "instance_id", "url"], "properties": {
            "reference": {"type": "string"}, "instance_id": {"type": "integer"}, "url": {"type": "string"}}},
        "ReplacementRequest": {"type": "object", "required": ["kind"], "additionalProperties": False, "properties": {
            "kind": {"type": "string", "enum": ["refinancing", "restructuring"]},
            "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 100_000_000_000, "multipleOf": 0.01,
                       "description": "Default: the outstanding principal the core banking feed reports"},
            "term_months": {"type": "integer", "minimum": 1, "maximum": 360}}},
        "ReplacementStarted": {"type": "object", "required": ["reference", "replaces", "url"], "properties": {
            "reference": {"type": "string", "description": "The new loan"}, "replaces": {"type": "string"},
            "url": {"type": "string"}}},
    }


def loan_change_paths(errors) -> dict:
    return {
        "/api/v1/loans/{reference}/extension": {"post": {
            "operationId": "requestExtension",
            "summary": "Request an extension (展期) of a disbursed loan before it matures",
            "description": "Investigated by the requester, reviewed and approved one tier up; once approved the "
                           "same loan's maturity moves. Refused (403) after maturity, while another extension is "
                           "open, or beyond the extensions the policy allows.",
            "parameters": [REFERENCE],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ExtensionRequest")}}},
            "responses": {"201": _json(_ref("ExtensionStarted"), "The extension process started"),
                          **errors(400, 401, 403, 404)}}},
        "/api/v1/loans/{reference}/replacement": {"post": {
            "operationId": "replaceLoan",
            "summary": "Refinance (借新还旧) or restructure (重组) a disbursed loan with a new linked loan",
            "description": "The new loan runs through origination one tier up; its first payment settles this one.",
            "parameters": [REFERENCE],
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("ReplacementRequest")}}},
            "responses": {"201": _json(_ref("ReplacementStarted"), "The new loan"), **errors(400, 401, 403, 404)}}},
    }
