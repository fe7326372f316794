"""A decision table edited in dmn-js (FEEL cells) routes real loans the way it reads."""
from __future__ import annotations

import shutil

import pytest

from engine.bootstrap import BUNDLED_BPMN

pytestmark = pytest.mark.usefixtures("engine_mode")

NEW_AVERAGE = dict(new_relationship=True, rating="average")


def with_feel_rating_cell(tmp_path):
    """The bundled processes, with the 'rated average or worse' cell written as dmn-js writes it."""
    folder = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, folder)
    dmn = folder / "entrusted_payment.dmn"
    text = dmn.read_text("utf-8")
    assert '? in ("average", "poor")' in text
    dmn.write_text(text.replace('? in ("average", "poor")', '"average","poor"'), "utf-8")
    return folder


def payment_step(driver, **application) -> list[str]:
    ref = driver.start(**application)
    driver.through_approval_dual(ref)
    driver.do(ref, "prepare_contract", "cm_wang")
    if "register_collateral" in driver.open_steps(ref):
        driver.do(ref, "register_collateral", "coll_hu")
    driver.do(ref, "review_disbursement", "disb_xu")
    return [s for s in driver.open_steps(ref) if s.startswith("execute_")]


def test_a_new_relationship_rated_average_is_paid_by_entrusted_payment(engine, driver, tmp_path):
    engine.deploy([with_feel_rating_cell(tmp_path)], actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert payment_step(driver, **NEW_AVERAGE) == ["execute_entrusted_payment"]
    assert payment_step(driver, new_relationship=True, rating="good") == ["execute_payment"]
