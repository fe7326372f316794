"""Extension, refinancing and restructuring from the loan's page and over the API; the link shown both ways."""
from __future__ import annotations


def test_a_customer_manager_requests_an_extension_and_a_refinancing_on_the_loans_page(client, auth, engine, loans):
    ref = loans.disbursed()
    auth.login("cm_wang")
    page = client.get(f"/loans/{ref}")
    assert b"Request an extension" in page.data and b"Start the new loan" in page.data
    assert b"Maturity" in page.data  # first drawdown plus the approved term, before any feed
    done = auth.post(f"/loans/{ref}/extension", {"months": "6", "reason": "Receivables delayed."},
                     follow_redirects=True)
    assert b"Extension requested" in done.data
    assert "investigate_extension" in [i.bpmn_id for i in engine.loan_items(ref)]
    again = auth.post(f"/loans/{ref}/extension", {"months": "6", "reason": "Again."}, follow_redirects=True)
    assert b"already under way" in again.data

    other = loans.disbursed()
    replaced = auth.post(f"/loans/{other}/replacement", {"kind": "refinancing"})
    (new,) = engine.loan(other).replaced_by
    assert replaced.status_code == 302 and replaced.headers["Location"].endswith(f"/loans/{new}")
    assert f'href="/loans/{other}"'.encode() in client.get(f"/loans/{new}").data
    assert f'href="/loans/{new}"'.encode() in client.get(f"/loans/{other}").data


def test_the_api_requests_an_extension_and_a_restructuring(client, engine, loans):
    ref = loans.disbursed()
    headers = {"Authorization": f"Bearer {engine.issue_token('cm_wang')}"}
    started = client.post(f"/api/v1/loans/{ref}/extension", json={"months": 6, "reason": "Late receivables."},
                          headers=headers)
    assert started.status_code == 201, started.json
    assert started.json["reference"] == ref and started.json["instance_id"]
    refused = client.post(f"/api/v1/loans/{ref}/extension", json={"months": 6, "reason": "Again."}, headers=headers)
    assert refused.status_code == 403 and "already under way" in refused.json["message"]
    odd = client.post(f"/api/v1/loans/{ref}/extension", json={"months": 6, "reason": "x", "days": 3}, headers=headers)
    assert odd.status_code == 400
    auditor = {"Authorization": f"Bearer {engine.issue_token('auditor_xie')}"}
    assert client.post(f"/api/v1/loans/{ref}/extension", json={}, headers=auditor).status_code == 403

    other = loans.disbursed()
    replaced = client.post(f"/api/v1/loans/{other}/replacement",
                           json={"kind": "restructuring", "amount": 1_000_000}, headers=headers)
    assert replaced.status_code == 201, replaced.json
    new = replaced.json["reference"]
    detail = client.get(f"/api/v1/loans/{new}", headers=headers).json
    assert (detail["replaces"], detail["loan_type"], detail["classification"]) == (other, "restructuring",
                                                                                  "special_mention")
    assert client.get(f"/api/v1/loans/{other}", headers=headers).json["replaced_by"] == [new]
