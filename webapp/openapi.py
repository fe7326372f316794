"""The OpenAPI 3.1 description of /api/v1, built from the same constants the handlers use."""
from __future__ import annotations

import copy

from engine.queries.inbox import INBOX_SORTS
from engine.queries.loan_search import LOAN_SORTS

from .credit_file import LOAN_STATUSES
from .openapi_changes import CHANGE_PATHS, change_schemas
from .openapi_loan_changes import loan_change_paths, loan_change_schemas
from .openapi_servicing import servicing_paths, servicing_schemas
from .templating import CLASSIFICATION_LABELS, STAGE_LABELS

MAX_ID = 2_147_483_647
NO_NUL = "^[^\\x00]*$"  # no database keeps NUL in text: the API refuses it
KINDS = ["mine", "available", "done"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    text = {400: "Bad input (the `fields` member names each bad field)", 401: "Missing or invalid bearer token",
            403: "Refused: role, assignment or a segregation-of-duties policy rule",
            404: "No such loan or task (or it was already completed)",
            409: "Someone else changed the same loan at the same time; reload and retry",
            422: "The process could not go on (a BPMN script failed); nothing was saved"}
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


ITEM_ID = {"name": "item_id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
INCIDENT_ID = {"name": "incident_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
REFERENCE = {"name": "reference", "in": "path", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 32, "pattern": "^[A-Za-z0-9-]+$"}}


def _schemas(application: dict) -> dict:
    time = {"type": "string", "format": "date-time"}
    money = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Exact decimal amount in CNY"}
    act = {"type": "object", "required": ["username", "duty", "process_id", "performed_at"], "properties": {
        "username": {"type": "string"}, "duty": {"type": "string"}, "process_id": {"type": "string"},
        "step": _nullable("string"), "on_behalf_of": _nullable("string"), "performed_at": time}}
    work_item = {"type": "object", "required": ["id", "loan_ref", "name", "role", "stage", "due_at", "overdue"],
                 "properties": {
                     "id": {"type": "integer"}, "loan_ref": {"type": "string"}, "borrower": {"type": "string"},
                     "amount": money, "branch": {"type": "string"}, "process_id": {"type": "string"},
                     "step": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"},
                     "duty": {"type": "string"}, "stage": {"type": "string"},
                     "assigned_to": _nullable("string"), "claimed_by": _nullable("string"),
                     "created_at": time, "due_at": {"type": ["string", "null"], "format": "date-time"},
                     "overdue": {"type": "boolean"},
                     "title": {"type": "string", "description": "the task's name in the request's language "
                                                               "(Accept-Language); name is the one stored"}}}
    done_item = {"type": "object", "required": ["loan_ref", "duty", "performed_at"],
                 "properties": {"loan_ref": {"type": "string"}, "borrower": {"type": "string"}, **act["properties"]}}
    instance = {"type": "object", "required": ["id", "process_id", "version", "status"], "properties": {
        "id": {"type": "integer"}, "process_id": {"type": "string"}, "process_name": {"type": "string"},
        "version": {"type": "integer"}, "status": {"type": "string"},
        "next_timer_due": {"type": ["string", "null"], "format": "date-time"}, "created_at": time,
        "completed_steps": {"type": "array", "items": {"type": "string"}},
        "current_steps": {"type": "array", "items": {"type": "string"}},
        "taken_flows": {"type": "array", "items": {"type": "string"},
                        "description": "Sequence flows taken, as 'sourceId>targetId'"}}}
    loan = {"type": "object", "required": ["reference", "borrower", "amount", "branch", "stage", "status", "instances"],
            "properties": {
                "reference": {"type": "string"}, "borrower": {"type": "string"}, "product": {"type": "string"},
                "amount": money, "currency": {"type": "string"}, "branch": {"type": "string"},
                "originator": {"type": "string"}, "loan_type": {"type": "string"}, "stage": {"type": "string"},
                "classification": {"type": "string"}, "status": {"type": "string"}, "created_at": time,
                "application": {"type": "object"}, "instances": {"type": "array", "items": _ref("Instance")},
                "open_tasks": {"type": "array", "items": {"type": "object"}},
                "maturity_date": {"type": ["string", "null"], "format": "date",
                                  "description": "As an extension agreed it, else as the core banking feed reports "
                                                 "it, else first drawdown plus the approved term"},
                "extensions": {"type": "integer"},
                "replaces": _nullable("string"),
                "replaced_by": {"type": "array", "items": {"type": "string"}},
                "approval": {"type": ["object", "null"], "description": "Terms fixed by the approval, and drawdowns",
                             "properties": {"amount": money, "paid": money, "undrawn": money,
                                            "currency": {"type": "string"}, "term_months": _nullable("integer"),
                                            "conditions": _nullable("string"), "approved_at": time,
                                            "payments": {"type": "array", "items": {"type": "object", "properties": {
                                                "paid_at": time, "mode": {"type": "string", "enum": ["direct", "entrusted"]},
                                                "amount": money, "currency": {"type": "string"},
                                                "counterparty_name": _nullable("string"),
                                                "counterparty_account": _nullable("string"),
                                                "reference": {"type": "string"}, "paid_by": {"type": "string"}}}}}}}}
    app_schema = copy.deepcopy(application)
    for prop in app_schema.get("properties", {}).values():
        if prop.get("x-unit") == "CNY":  # yuan and fen: the engine refuses a third decimal place
            prop["multipleOf"] = 0.01
    return {
        "Error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "description": "Stable machine-readable code, e.g. duty_conflict"},
            "message": {"type": "string", "description": "A sentence for people, in the request's language"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "rule": _nullable("string")}},
        "Application": app_schema,
        "LoanCreated": {"type": "object", "required": ["reference", "url"],
                        "properties": {"reference": {"type": "string"}, "url": {"type": "string"}}},
        "Loan": loan, "Instance": instance, "Act": act, "WorkItem": work_item, "DoneItem": done_item,
        "History": {"type": "object", "required": ["reference", "acts"], "properties": {
            "reference": {"type": "string"}, "acts": {"type": "array", "items": _ref("Act")}}},
        "TaskList": {"type": "object", "required": ["kind", "page", "per_page", "total", "items"], "properties": {
            "kind": {"type": "string", "enum": KINDS}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "items": {"type": "array", "items": {"anyOf": [_ref("WorkItem"), _ref("DoneItem")]}}}},
        "TaskDetail": {"type": "object", "required": ["task", "form", "instructions", "data"], "properties": {
            "task": _ref("WorkItem"), "instructions": {"type": "string"},
            "form": {"type": "object", "description": "JSON Schema of the task's form"},
            "data": {"type": "object"}}},
        "Completion": {"type": "object", "additionalProperties": False, "properties": {
            "data": {"type": "object", "description": "The form's fields, as its JSON Schema says"},
            "reason": {"type": "string", "maxLength": 2000}}},
        "ClaimState": {"type": "object", "required": ["id", "claimed_by"], "properties": {
            "id": {"type": "integer"}, "claimed_by": _nullable("string")}},
        "Completed": {"type": "object", "required": ["id", "completed"], "properties": {
            "id": {"type": "integer"}, "completed": {"type": "boolean"}}},
        "Incident": {"type": "object", "required": ["id", "loan", "kind", "status", "error", "attempts"],
                     "properties": {
                         "id": {"type": "integer"}, "loan": {"type": "string"}, "instance_id": {"type": "integer"},
                         "kind": {"type": "string", "enum": ["timer", "message", "task"]},
                         "process_id": {"type": "string"}, "process_version": {"type": "integer"},
                         "step": _nullable("string"), "step_name": _nullable("string"), "error": {"type": "string"},
                         "status": {"type": "string", "enum": ["open", "resolved"]}, "attempts": {"type": "integer"},
                         "first_seen": time, "last_seen": time, "next_attempt_at": _nullable("string"),
                         "resolved_at": _nullable("string"), "resolved_by": _nullable("string"),
                         "diagram_url": _nullable("string")}},
        "IncidentList": {"type": "object", "required": ["status", "incidents"], "properties": {
            "status": {"type": "string"}, "incidents": {"type": "array", "items": _ref("Incident")}}},
        "LoanRow": {"type": "object", "required": ["reference", "borrower", "amount", "branch", "stage", "status"],
                    "properties": {
                        "reference": {"type": "string"}, "borrower": {"type": "string"},
                        "customer_identifier": _nullable("string"), "product": {"type": "string"}, "amount": money,
                        "currency": {"type": "string"}, "branch": {"type": "string"},
                        "originator": {"type": "string"}, "stage": {"type": "string"},
                        "status": {"type": "string"}, "classification": {"type": "string"},
                        "created_at": time, "updated_at": time}},
        "LoanList": {"type": "object", "required": ["page", "per_page", "total", "loans"], "properties": {
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
            "loans": {"type": "array", "items": _ref("LoanRow")}}},
        "Retry": {"type": "object", "additionalProperties": False, "properties": {
            "to_latest": {"type": "boolean", "description": "First move the instance to the newest version"}}},
        **_document_schemas(time),
        **change_schemas(time),
        **servicing_schemas(),
        **loan_change_schemas(),
        "Notification": {"type": "object", "required": ["id", "kind", "title", "text", "link", "created_at", "read"],
                         "properties": {
                             "id": {"type": "integer"}, "kind": {"type": "string"}, "loan": _nullable("string"),
                             "task_id": _nullable("integer"), "title": {"type": "string"},
                             "text": {"type": "string", "description": "What happened, in the request's language"},
                             "link": {"type": "string", "description": "Path of the task or loan page"},
                             "created_at": time, "read": {"type": "boolean"},
                             "read_at": {"type": ["string", "null"], "format": "date-time"}}},
        "NotificationList": {"type": "object", "required": ["unread", "notifications"], "properties": {
            "unread": {"type": "integer", "description": "How many of all my notifications are unread"},
            "notifications": {"type": "array", "items": _ref("Notification")}}},
    }


def openapi_document(application_schema: dict) -> dict:
    list_params = [
        {"name": "kind", "in": "query", "schema": {"type": "string", "enum": KINDS, "default": "mine"},
         "description": "mine: claimed by or assigned to me; available: my roles, allowed by policy; done: by me"},
        {"name": "stage", "in": "query", "schema": {"type": "string", "enum": sorted(STAGE_LABELS)}},
        {"name": "branch", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 32, "pattern": NO_NUL}},
        {"name": "due", "in": "query", "schema": {"type": "string", "format": "date"},
         "description": "Only tasks due on or before this day (Beijing time)"},
        {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100, "pattern": NO_NUL},
         "description": "Part of the loan reference, the borrower's name or the task's name"},
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(INBOX_SORTS), "default": "due"}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    ]
    paging = [p for p in list_params if p["name"] in ("page", "per_page")]
    loan_params = [
        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100, "pattern": NO_NUL},
         "description": "Part of the loan reference, the borrower's name or the customer's unified identifier"},
        {"name": "branch", "in": "query", "schema": {"type": "string", "maxLength": 32, "pattern": NO_NUL}},
        {"name": "stage", "in": "query", "schema": {"type": "string", "enum": ["", *sorted(STAGE_LABELS)]},
         "description": "Empty: any stage"},
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["", *LOAN_STATUSES]},
         "description": "Empty: any status"},
        {"name": "classification", "in": "query",
         "schema": {"type": "string", "enum": ["", *CLASSIFICATION_LABELS]}, "description": "Empty: any class"},
        {"name": "min", "in": "query", "schema": {"type": "string", "pattern": r"^(\d[\d,]{0,17}(\.\d{1,2})?)?$"},
         "description": "Smallest amount in yuan"},
        {"name": "max", "in": "query", "schema": {"type": "string", "pattern": r"^(\d[\d,]{0,17}(\.\d{1,2})?)?$"},
         "description": "Largest amount in yuan"},
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["", *LOAN_SORTS], "default": "newest"},
         "description": "Empty: newest first"},
        *paging,
    ]
    claim_state = _json(_ref("ClaimState"), "The task's claim after the change")
    return {
        "openapi": "3.1.0",
        "info": {"title": "creditflow API", "version": "1",
                 "description": "Start loans and work the credit inbox. Authenticate with `Authorization: Bearer "
                                "<token>` (issue one with `creditflow users token NAME`). Every refusal is JSON "
                                "with a stable `code` and a human `message`."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/openapi.json": {"get": {"operationId": "openapi", "security": [], "summary": "This document",
                                             "responses": {"200": _json({"type": "object"}, "OpenAPI document")}}},
            "/api/v1/loans": {"get": {
                "operationId": "searchLoans", "summary": "The credit files I may open, searched and sorted",
                "parameters": loan_params,
                "responses": {"200": _json(_ref("LoanList"), "One page of loans"), **_errors(400, 401)}}, "post": {
                "operationId": "startLoan", "summary": "Record an application and start origination",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Application")}}},
                "responses": {"201": _json(_ref("LoanCreated"), "Loan started"), **_errors(400, 401, 403, 404, 422)}}},
            "/api/v1/loans/{reference}": {"get": {
                "operationId": "getLoan", "summary": "A loan's file: fields, process instances, open tasks",
                "parameters": [REFERENCE],
                "responses": {"200": _json(_ref("Loan"), "The loan"), **_errors(401, 403, 404)}}},
            "/api/v1/loans/{reference}/history": {"get": {
                "operationId": "getLoanHistory", "summary": "Who did what on the loan",
                "parameters": [REFERENCE],
                "responses": {"200": _json(_ref("History"), "The acts, oldest first"), **_errors(401, 403, 404)}}},
            "/api/v1/tasks": {"get": {
                "operationId": "listTasks", "summary": "My work", "parameters": list_params,
                "responses": {"200": _json(_ref("TaskList"), "One page of tasks"), **_errors(400, 401)}}},
            "/api/v1/tasks/{item_id}": {"get": {
                "operationId": "getTask", "summary": "A task with its form schema and instructions",
                "parameters": [ITEM_ID],
                "responses": {"200": _json(_ref("TaskDetail"), "The task"), **_errors(401, 403, 404)}}},
            "/api/v1/tasks/{item_id}/claim": {"post": {
                "operationId": "claimTask", "summary": "Claim a task", "parameters": [ITEM_ID],
                "responses": {"200": claim_state, **_errors(401, 403, 404, 409)}}},
            "/api/v1/tasks/{item_id}/release": {"post": {
                "operationId": "releaseTask", "summary": "Release a task I claimed", "parameters": [ITEM_ID],
                "responses": {"200": claim_state, **_errors(401, 403, 404, 409)}}},
            "/api/v1/tasks/{item_id}/complete": {"post": {
                "operationId": "completeTask", "summary": "Complete a task with its form data",
                "parameters": [ITEM_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Completion")}}},
                "responses": {"200": _json(_ref("Completed"), "Completed"),
                              **_errors(400, 401, 403, 404, 409, 422)}}},
            **DOCUMENT_PATHS,
            **CHANGE_PATHS,
            **servicing_paths(_errors),
            **loan_change_paths(_errors),
            "/api/v1/incidents": {"get": {
                "operationId": "listIncidents", "summary": "Steps that failed (administrators, process designers)",
                "parameters": [{"name": "status", "in": "query",
                                "schema": {"type": "string", "enum": ["open", "resolved", "all"], "default": "open"}}],
                "responses": {"200": _json(_ref("IncidentList"), "Incidents, latest first"),
                              **_errors(400, 401, 403)}}},
            "/api/v1/incidents/{incident_id}/retry": {"post": {
                "operationId": "retryIncident", "summary": "Retry a failed timer or message now",
                "parameters": [INCIDENT_ID],
                "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("Retry")}}},
                "responses": {"200": _json(_ref("Incident"), "The incident after the attempt"),
                              **_errors(400, 401, 403, 404, 409)}}},
            "/api/v1/notifications": {"get": {
                "operationId": "listNotifications", "summary": "My notifications, newest first",
                "parameters": [
                    {"name": "unread", "in": "query", "schema": {"type": "boolean"},
                     "description": "Only the unread ones"},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}],
                "responses": {"200": _json(_ref("NotificationList"), "Notifications, newest first"),
                              **_errors(400, 401)}}},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(application_schema),
        },
    }


DOCUMENT_ID = {"name": "document_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


def _document_schemas(time: dict) -> dict:
    document = {"type": "object", "required": ["id", "loan_ref", "kind", "filename", "size", "sha256", "url"],
                "properties": {
                    "id": {"type": "integer"}, "loan_ref": {"type": "string"}, "kind": {"type": "string"},
                    "filename": {"type": "string"}, "content_type": {"type": "string"}, "size": {"type": "integer"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "uploaded_by": {"type": "string"},
                    "uploaded_at": time, "step": _nullable("string"), "step_name": _nullable("string"),
                    "task": _nullable("integer", description="The task it was attached on (null: the loan)"),
                    "url": {"type": "string", "description": "Where to download it"}}}
    return {
        "Document": document,
        "DocumentList": {"type": "object", "required": ["reference", "documents"], "properties": {
            "reference": {"type": "string"}, "documents": {"type": "array", "items": _ref("Document")}}},
        "DocumentUpload": {"type": "object", "required": ["kind", "file"], "properties": {
            "kind": {"type": "string", "description": "financial_statements, site_visit, contract_scan, "
                                                      "collateral_certificate, inspection_record, other, or a "
                                                      "kind the task's checklist names"},
            "file": {"type": "string", "format": "binary",
                     "description": "PDF, PNG, JPEG, DOCX, XLSX, TXT or CSV; its leading bytes must agree"},
            "task": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                     "description": "Attach it on this open task of the loan (its checklist)"}}},
    }


DOCUMENT_PATHS = {
    "/api/v1/loans/{reference}/documents": {
        "get": {"operationId": "listDocuments", "summary": "The documents on a loan's file, with their SHA-256",
                "parameters": [REFERENCE],
                "responses": {"200": _json(_ref("DocumentList"), "Oldest first"), **_errors(401, 403, 404)}},
        "post": {"operationId": "attachDocument", "summary": "Attach a file to the loan, or to one of its tasks",
                 "parameters": [REFERENCE],
                 "requestBody": {"required": True, "content": {"multipart/form-data": {
                     "schema": _ref("DocumentUpload")}}},
                 "responses": {"201": _json(_ref("Document"), "Attached; Location is its download address"),
                               **_errors(400, 401, 403, 404, 409),
                               "413": _json(_ref("Error"), "Larger than the largest accepted file")}}},
    "/api/v1/documents/{document_id}": {"get": {
        "operationId": "downloadDocument",
        "summary": "The file as attached (refused when its bytes no longer match the recorded SHA-256)",
        "parameters": [DOCUMENT_ID],
        "responses": {"200": {"description": "The file, as an attachment",
                              "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}},
                      **_errors(401, 403, 404, 422)}}},
}
