"""Raising a risk warning from the loan page."""
from tests.integration.conftest import FORMS as ALL_FORMS


def disbursed(loans):
    ref = loans.at_approval()
    for bpmn_id, user in (("sign_business", "cm_wang"), ("sign_risk", "risk_liu"), ("prepare_contract", "cm_wang"),
                          ("register_collateral", "coll_hu"), ("review_disbursement", "disb_xu"),
                          ("execute_payment", "acct_ma")):
        loans.do(ref, bpmn_id, user, **ALL_FORMS[bpmn_id])
    return ref


def test_a_customer_manager_raises_a_warning_and_the_risk_department_gets_the_task(auth, client, loans, engine):
    ref = disbursed(loans)
    auth.login("cm_zhao")
    page = client.get(f"/loans/{ref}").get_data(as_text=True)
    assert "Raise a risk warning" in page
    response = auth.post(f"/loans/{ref}/warnings", {"signal": "Borrower's main buyer is in arrears."})
    assert response.status_code == 302
    assert "register_warning" in [i.bpmn_id for i in engine.loan_items(ref)]
    auth.logout()
    auth.login("cro_gao")
    assert "Register" in client.get("/?kind=available").get_data(as_text=True)


def test_people_who_may_not_raise_warnings_see_no_form_and_are_refused(auth, client, loans, engine):
    ref = disbursed(loans)
    auth.login("acct_ma")
    assert "Raise a risk warning" not in client.get(f"/loans/{ref}").get_data(as_text=True)
    response = auth.post(f"/loans/{ref}/warnings", {"signal": "I think so."})
    assert response.status_code == 403
    assert "register_warning" not in [i.bpmn_id for i in engine.loan_items(ref)]
