"""Exposure is computed, not typed: loans of one customer, and of the customers of one group, add up, and the
approval tier follows the sum whatever the customer manager types."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import InvalidInput
from engine.store.models import Customer

pytestmark = pytest.mark.usefixtures("engine_mode")

HENGDA = "91350100M000100Y43"  # a valid unified social credit code
SISTER = "91110108MA01ABCD2H"
PARENT = "91110000100000001W"


def test_two_loans_to_the_same_borrower_add_up_to_a_committee(engine, driver):
    first = driver.start(amount=2_900_000, borrower_id=HENGDA)
    driver.do(first, "investigate", "cm_wang")
    driver.do(first, "review", "rev_chen")
    assert engine.loan_tier(first) == "dual_signature"
    second = driver.start(amount=2_900_000, borrower_id=HENGDA, group_exposure=2_900_000)  # the typed figure is ignored
    driver.do(second, "investigate", "cm_wang")
    driver.do(second, "review", "rev_chen")
    assert engine.loan_tier(second) == "branch_committee"
    assert Decimal(engine.loan(second).application["group_exposure"]) == 5_800_000
    assert Decimal(engine.loan(second).application["declared_group_exposure"]) == 2_900_000
    with engine.db.reading() as session:
        assert session.query(Customer).count() == 1


def test_companies_of_one_group_share_the_exposure(engine, driver):
    driver.start(amount=2_000_000, borrower_id=HENGDA, group_identifier=PARENT, group_name="Hengda Holdings")
    ref = driver.start(amount=1_500_000, borrower="Hengda Sister Co.", borrower_id=SISTER, group_identifier=PARENT)
    assert Decimal(engine.loan(ref).application["group_exposure"]) == 3_500_000
    other = driver.start(amount=1_500_000, borrower="Unrelated Co.")
    assert Decimal(engine.loan(other).application["group_exposure"]) == 1_500_000


@pytest.mark.parametrize("field, value", [("borrower_id", "91350100M000100Y44"), ("borrower_id", "12345"),
                                          ("group_identifier", "11010519491231002X")])
def test_an_identifier_with_a_wrong_check_character_is_refused(engine, driver, field, value):
    with pytest.raises(InvalidInput) as excinfo:
        driver.start(**{field: value})
    assert list(excinfo.value.field_templates) == [field]
