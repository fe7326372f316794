"""The OpenAPI description of /api/v1/servicing: the core banking feed of loan positions."""
from __future__ import annotations

from engine.application import LOAN_TYPES, PRODUCTS
from engine.commands.onboarding import REQUIRED as ONBOARD_REQUIRED
from engine.commands.servicing import MAX_BATCH as MAX_POSITIONS, REQUIRED

NO_NUL = "^[^\\x00]*$"
AMOUNT = {"type": ["string", "number"], "description": "Yuan, at most two decimal places; 0 or more"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def servicing_schemas() -> dict:
    text = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL}
    position = {"type": "object", "required": list(REQUIRED), "additionalProperties": False, "properties": {
        "loan": {**text, "maxLength": 32, "description": "The loan's reference in creditflow (L-...)"},
        "contract_number": text, "maturity_date": {"type": "string", "format": "date"},
        "schedule": {"type": "string", "maxLength": 2000, "pattern": NO_NUL,
                     "description": "The repayment schedule, summarised by the ledger"},
        "outstanding_principal": AMOUNT, "overdue_principal": AMOUNT, "overdue_interest": AMOUNT,
        "days_past_due": {"type": ["integer", "string"], "minimum": 0, "description": "Whole days, 0 or more"},
        "last_repayment_date": {"type": ["string", "null"], "format": "date"},
        "last_repayment_amount": {"anyOf": [AMOUNT, {"type": "null"}]}}}
    refused = {"type": "object", "required": ["row", "field", "message"], "properties": {
        "row": {"type": "integer", "description": "Its place in `positions`, from 1"},
        "loan": {"type": ["string", "null"]}, "field": {"type": "string", "description": "The field at fault"},
        "message": {"type": "string", "description": "Why, in the request's language"}}}
    onboarding = {**position, "required": [*REQUIRED, *ONBOARD_REQUIRED], "properties": {
        **position["properties"],
        "loan": {**text, "maxLength": 32, "description": "The loan's core banking number, its reference from now on"},
        "borrower": {**text, "maxLength": 200}, "borrower_id": {"type": "string", "format": "cn-unified-id",
                                                               "description": "Unified social credit code or "
                                                                              "resident ID"},
        "product": {"enum": PRODUCTS}, "amount": AMOUNT, "branch": {**text, "maxLength": 32},
        "disbursed_on": {"type": "string", "format": "date"},
        "originator": {**text, "description": "The originating customer manager's user name"},
        "loan_type": {"enum": LOAN_TYPES}, "small_enterprise": {"type": ["boolean", "string"]}}}
    return {
        "Position": position,
        "OnboardingRow": onboarding,
        "OnboardingBatch": {"type": "object", "required": ["as_of", "loans"], "additionalProperties": False,
                            "properties": {"as_of": {"type": "string", "format": "date",
                                                     "description": "The business date of every position"},
                                           "loans": {"type": "array", "items": _ref("OnboardingRow"),
                                                     "description": f"At most {MAX_POSITIONS} rows a call"}}},
        "OnboardingSummary": {"type": "object", "required": ["as_of", "accepted", "unchanged", "refused",
                                                             "onboarded"],
                              "properties": {
                                  "as_of": {"type": "string", "format": "date"},
                                  "onboarded": {"type": "array", "items": {"type": "string"},
                                                "description": "Loans whose credit file this call opened"},
                                  "accepted": {"type": "array", "items": {"type": "string"},
                                               "description": "Loans whose position changed"},
                                  "unchanged": {"type": "array", "items": {"type": "string"},
                                                "description": "Loans on file with this position already"},
                                  "refused": {"type": "array", "items": refused}}},
        "PositionBatch": {"type": "object", "required": ["as_of", "positions"], "additionalProperties": False,
                          "properties": {"as_of": {"type": "string", "format": "date",
                                                   "description": "The business date of every position"},
                                         "positions": {"type": "array", "items": _ref("Position"),
                                                       "description": f"At most {MAX_POSITIONS} rows and 1 MB a "
                                                                      "call: a whole book goes in several"}}},
        "PositionSummary": {"type": "object", "required": ["as_of", "accepted", "unchanged", "refused"],
                            "properties": {
                                "as_of": {"type": "string", "format": "date"},
                                "accepted": {"type": "array", "items": {"type": "string"},
                                             "description": "Loans whose position changed (one audit event each)"},
                                "unchanged": {"type": "array", "items": {"type": "string"},
                                              "description": "Loans whose position was already recorded"},
                                "refused": {"type": "array", "items": refused}}},
    }


def servicing_paths(errors) -> dict:
    return {"/api/v1/servicing/positions": {"post": {
        "operationId": "recordPositions",
        "summary": "The core banking feed: each loan's position as of a business date (role core_banking only)",
        "description": "Each row is checked and recorded on its own: the good rows land even when others are "
                       "refused, and the same batch sent again changes nothing.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PositionBatch")}}},
        "responses": {"200": _json(_ref("PositionSummary"), "What landed, what was already there, what was refused "
                                                            "and why"),
                      **errors(400, 401, 403),
                      "413": _json(_ref("Error"), "The body is larger than 1 MB; send the book in several calls")}}},
        "/api/v1/servicing/onboarding": {"post": {
            "operationId": "onboardLoans",
            "summary": "Loans disbursed before creditflow brought under post-loan care (role core_banking only)",
            "description": "Each row is a position with the credit file's fields (docs/operations.md): a loan not on "
                           "file gets its file, its position and a post-loan instance dated from its disbursement; "
                           "a loan on file only its position. Rows are checked and refused one by one.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("OnboardingBatch")}}},
            "responses": {"200": _json(_ref("OnboardingSummary"), "What was onboarded, what was on file, what was "
                                                                  "refused and why"),
                          **errors(400, 401, 403),
                          "413": _json(_ref("Error"), "The body is larger than 1 MB; send it in several calls")}}}}
