"""The OpenAPI description of /api/v1/changes: process changes through four eyes."""
from __future__ import annotations

from engine.commands.changes import FILE_NAME_PATTERN, MAX_FILES, MAX_NOTE_CHARS

MAX_ID = 2**31 - 1
NO_NUL = "^[^\\x00]*$"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    return {str(s): _json(_ref("Error"), "Refused; `error` names the problem") for s in statuses}


CHANGE_ID = {"name": "change_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


def change_schemas(time: dict) -> dict:
    problem = {"type": "object", "required": ["file", "message", "severity"], "properties": {
        "file": {"type": "string"}, "line": {"type": ["integer", "null"]}, "element": {"type": ["string", "null"]},
        "message": {"type": "string"}, "severity": {"type": "string", "enum": ["error", "warning"]},
        "rule": {"type": ["string", "null"], "description": "The lint rule that found it; null for validation"}}}
    change = {"type": "object", "required": ["id", "author", "status", "files"], "properties": {
        "id": {"type": "integer"}, "author": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "submitted", "approved", "rejected", "withdrawn"]},
        "note": {"type": "string"}, "files": {"type": "array", "items": {"type": "string"},
                                              "description": "The files the change edits"},
        "created_at": time, "submitted_at": {"anyOf": [time, {"type": "null"}]},
        "reviewer": {"type": ["string", "null"]}, "decided_at": {"anyOf": [time, {"type": "null"}]},
        "reason": {"type": ["string", "null"]},
        "deployed": {"type": "array", "items": {"type": "object", "properties": {
            "process_id": {"type": "string"}, "version": {"type": "integer"}, "created": {"type": "boolean"}}}},
        "problems": {"type": "array", "items": _ref("Problem"),
                     "description": "Validation errors and lint findings against what is deployed now"}}}
    return {
        "Problem": problem,
        "Change": change,
        "ChangeList": {"type": "object", "required": ["changes"], "properties": {
            "changes": {"type": "array", "items": _ref("Change")}}},
        "ChangeFiles": {"type": "object", "required": ["files"], "additionalProperties": False, "properties": {
            "files": {"type": "object", "maxProperties": MAX_FILES, "propertyNames": {"pattern": FILE_NAME_PATTERN},
                      "additionalProperties": {"type": "string", "pattern": NO_NUL, "maxLength": 1_000_000},
                      "description": "File name (x.bpmn, x.dmn, x.en.json, forms/x.json) to its text"},
            "note": {"type": "string", "maxLength": MAX_NOTE_CHARS, "pattern": NO_NUL}}},
        "Decision": {"type": "object", "additionalProperties": False, "properties": {
            "reason": {"type": "string", "maxLength": MAX_NOTE_CHARS, "pattern": NO_NUL,
                       "description": "Why; required to reject, read by the author"}}},
    }


def _act(operation: str, summary: str, request: str | None, statuses=(400, 401, 403, 404, 409)) -> dict:
    op = {"operationId": operation, "summary": summary, "parameters": [CHANGE_ID],
          "responses": {"200": _json(_ref("Change"), "The change after the step"), **_errors(*statuses)}}
    if request:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(request)}}}
    return {"post": op}


CHANGE_PATHS = {
    "/api/v1/changes": {
        "get": {"operationId": "listChanges", "summary": "Process changes, newest first (designers, auditors)",
                "parameters": [{"name": "status", "in": "query", "schema": {
                    "type": "string", "enum": ["draft", "submitted", "approved", "rejected", "withdrawn"]}}],
                "responses": {"200": _json(_ref("ChangeList"), "Newest first"), **_errors(401, 403)}},
        "post": {"operationId": "createChange", "summary": "Draft a change (a process designer)",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ChangeFiles")}}},
                 "responses": {"201": _json(_ref("Change"), "The draft with its problems"),
                               **_errors(400, 401, 403)}}},
    "/api/v1/changes/{change_id}": {
        "get": {"operationId": "getChange", "summary": "A change with its problems against what is deployed now",
                "parameters": [CHANGE_ID],
                "responses": {"200": _json(_ref("Change"), "The change"), **_errors(401, 403, 404)}},
        "put": {"operationId": "editChange", "summary": "More edits on the author's own draft",
                "parameters": [CHANGE_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ChangeFiles")}}},
                "responses": {"200": _json(_ref("Change"), "The draft with its problems"),
                              **_errors(400, 401, 403, 404, 409)}}},
    "/api/v1/changes/{change_id}/submit": _act("submitChange", "The author submits the draft for approval", None),
    "/api/v1/changes/{change_id}/withdraw": _act("withdrawChange", "The author withdraws the change", None),
    "/api/v1/changes/{change_id}/approve": _act(
        "approveChange", "Another designer approves: the change deploys (never its author)", "Decision"),
    "/api/v1/changes/{change_id}/reject": _act(
        "rejectChange", "Another designer rejects the change with a reason", "Decision"),
}
