"""Amounts in yuan: at most two decimal places (fen), written in digits, and a bound that says what it is."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.forms import form_errors
from webapp.schema_forms import _scalar

PAYMENT = {"type": "object", "properties": {
    "payment_amount": {"type": "number", "x-unit": "CNY", "exclusiveMinimum": 0}}}


def message(data):
    errors = form_errors(PAYMENT, data)
    if "payment_amount" not in errors:
        return None
    template, params = errors["payment_amount"]
    return template % params if params else template


@pytest.mark.parametrize("value", [1_000_000, 1_000_000.5, Decimal("1000000.12"), 0.01])
def test_yuan_and_fen_are_accepted(value):
    assert message({"payment_amount": value}) is None


@pytest.mark.parametrize("value", [1_000_000.123, Decimal("0.001"), Decimal("1000000.125")])
def test_more_than_two_decimal_places_is_refused_not_rounded(value):
    assert message({"payment_amount": value}) == "At most 2 decimal places (fen)."


@pytest.mark.parametrize("value, words", [(-5, "Must be more than 0."), (0, "Must be more than 0.")])
def test_a_bound_says_what_it_is(value, words):
    assert message({"payment_amount": value}) == words


def test_exponent_notation_on_a_form_stays_text_and_is_refused_as_not_a_number():
    prop = PAYMENT["properties"]["payment_amount"]
    assert _scalar(prop, "1e7") == "1e7"
    assert message({"payment_amount": "1e7"}) == "Must be a number."
    assert _scalar(prop, "10,000,000.50") == Decimal("10000000.50")


def test_a_loan_application_amount_is_in_yuan_and_fen_too():
    from engine.application import validate_application
    from engine.errors import InvalidInput
    with pytest.raises(InvalidInput) as refused:
        validate_application({"borrower": "Hengda Co.", "product": "working_capital", "amount": 1_000_000.123,
                              "term_months": 12})
    template, params = refused.value.field_templates["amount"]
    assert template == "At most 2 decimal places (fen)."
