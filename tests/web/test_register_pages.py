"""The accountability register on the web: compliance reads it and its exports; the credit risk department proposes
a finding and a branch head decides it; nobody else sees either."""
from __future__ import annotations

import csv
import hashlib
import io
import re

import pytest

from .webtest_helpers import PASSWORD

AUDITOR = "auditor_xie"


@pytest.fixture
def bad_loan(loans):
    return loans.substandard()


def test_the_auditor_reads_the_register_and_its_exports(client, auth, bad_loan, loans):
    healthy = loans.start()
    auth.login(AUDITOR)
    listing = client.get("/audit/register")
    assert listing.status_code == 200
    assert f'data-loan="{bad_loan}"' in listing.text and f'data-loan="{healthy}"' not in listing.text
    assert "1,500,000" in listing.text  # outstanding as the core banking feed reports it

    page = client.get(f"/audit/register/{bad_loan}")
    assert page.status_code == 200
    for duty, user in (("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"),
                       ("approve", "risk_liu"), ("review_disbursement", "disb_xu"), ("execute_payment", "acct_ma"),
                       ("approve_classification", "cro_gao")):
        assert f'data-duty="{duty}" data-user="{user}"' in page.text, duty
    assert "95 days past due." in page.text and "All met." in page.text
    assert 'action="/accountability' not in page.text  # compliance reads, it does not propose or decide
    shown = dict(re.findall(r'data-sha256="(csv|json)">([0-9a-f]{64})<', page.text))

    exported = client.get(f"/audit/register/{bad_loan}/export.csv")
    body = exported.get_data()
    assert exported.headers["X-Content-SHA256"] == hashlib.sha256(body).hexdigest() == shown["csv"]
    as_json = client.get(f"/audit/register/{bad_loan}/export.json").get_data()
    assert hashlib.sha256(as_json).hexdigest() == shown["json"]  # both digests from one read of the register
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert ("approve", "risk_liu") in {(r["duty"], r["username"]) for r in rows}
    everything = client.get("/audit/register.json")
    assert everything.status_code == 200 and bad_loan in everything.get_data(as_text=True)
    assert client.get(f"/audit/register/{healthy}").status_code == 404


@pytest.mark.parametrize("user", ["cro_gao", "cm_wang", "head_qian"])
def test_the_audit_register_is_compliance_only(client, auth, bad_loan, user):
    auth.login(user)
    for path in ("/audit/register", f"/audit/register/{bad_loan}", "/audit/register.csv"):
        assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("user", ["cm_wang", "rev_chen", AUDITOR])
def test_the_desk_is_for_the_credit_risk_department_and_branch_heads(client, auth, bad_loan, user):
    auth.login(user)
    assert client.get("/accountability/").status_code == 403
    assert client.get(f"/accountability/{bad_loan}").status_code == 403


def test_a_finding_is_proposed_on_the_desk_and_decided_by_someone_else(client, auth, bad_loan, engine):
    auth.login("cro_gao")
    page = client.get(f"/accountability/{bad_loan}")
    assert page.status_code == 200 and 'id="propose"' in page.text
    response = auth.post(f"/accountability/{bad_loan}/findings", {
        "finding": "The approval relied on an untested cash flow.", "person": ["risk_liu", "plm_guo", "acct_ma"],
        "level_risk_liu": "major", "note_risk_liu": "Signed without a site visit.", "level_acct_ma": "",
        "sanction": "Written warning."})
    assert response.status_code == 302
    (finding,) = engine.loan_register(bad_loan).findings
    assert finding.responsibility == [{"person": "risk_liu", "level": "major", "note": "Signed without a site visit."}]

    engine.grant_role("cro_gao", "branch_head", "BJ01")
    refused = engine.count_events("refused")
    auth.post(f"/accountability/findings/{finding.id}/decision",
              {"loan": bad_loan, "decision": "accept", "reason": "Mine to decide."})
    assert engine.loan_register(bad_loan).findings[0].status == "proposed"
    assert engine.count_events("refused") == refused + 1
    assert "SOD-18" in client.get(f"/accountability/{bad_loan}").text  # the refusal, shown once

    auth.logout()
    auth.login("head_qian")
    page = client.get(f"/accountability/{bad_loan}", headers={"Accept-Language": "zh-CN"})
    assert 'id="propose"' not in page.text and "/decision" in page.text
    response = auth.post(f"/accountability/findings/{finding.id}/decision",
                         {"loan": bad_loan, "decision": "accept", "reason": "No site visit on file."})
    assert response.status_code == 302
    (decided,) = engine.loan_register(bad_loan).findings
    assert (decided.status, decided.decided_by, decided.decision_reason) == (
        "accepted", "head_qian", "No site visit on file.")

    auth.logout()
    auth.login(AUDITOR)  # both acts are in the trail, labelled
    trace = client.get(f"/audit/loans/{bad_loan}")
    assert trace.status_code == 200
    assert "Accountability finding proposed" in trace.text and "Accountability finding decided" in trace.text
    found = client.get("/audit/?action=refused&rule=SOD-18")
    assert found.status_code == 200 and "cro_gao" in found.text


def test_the_register_page_reads_in_chinese(client, auth, bad_loan):
    auth.login(AUDITOR)
    client.post("/i18n/locale", data={"locale": "zh_CN"})
    page = client.get(f"/audit/register/{bad_loan}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "连带问责" in page.text and "审查" in page.text


def test_the_desk_opens_only_the_loans_of_ones_branches(client, auth, bad_loan, engine):
    if "cro_sh" not in set(engine.usernames()):  # PostgreSQL keeps the staff between tests
        engine.add_user("cro_sh", PASSWORD, "cro_sh")
        engine.grant_role("cro_sh", "credit_risk_officer", "SH01")
    auth.login("cro_sh")
    listing = client.get("/accountability/")
    assert listing.status_code == 200 and bad_loan not in listing.text
    assert client.get(f"/accountability/{bad_loan}").status_code == 403
    assert client.get(f"/accountability/{bad_loan}/export.csv").status_code == 403
    assert client.get("/accountability/export.csv").status_code == 403
    auth.post(f"/accountability/{bad_loan}/findings", {"finding": "Not mine.", "person": ["risk_liu"],
                                                      "level_risk_liu": "minor"})
    assert engine.loan_register(bad_loan).findings == []
