"""The conformance page and the event-log downloads: for the auditor only, in both languages."""
from __future__ import annotations

import hashlib
import json

import pytest

AUDITOR = "auditor_xie"


@pytest.fixture
def late(loans, clock):
    """A loan whose investigation was done ten days after it opened, and whose review is still open past due."""
    ref = loans.start("cm_wang")
    clock.advance(days=10)
    loans.do(ref, "investigate", "cm_wang")
    clock.advance(days=10)
    return ref


def test_the_page_counts_deviations_per_version_and_lists_the_loans(client, auth, late):
    auth.login(AUDITOR)
    finished = client.get("/audit/conformance")
    assert finished.status_code == 200
    assert late not in finished.text  # still running: not in the finished-only view
    page = client.get("/audit/conformance?running=1")
    assert page.status_code == 200
    text = page.text
    assert 'data-process="origination" data-version="1"' in text
    assert f'href="#{late}"' in text and f'id="{late}"' in text and f'href="/audit/loans/{late}"' in text
    assert 'data-kind="late"' in text and 'data-kind="overdue"' in text
    assert "Done late" in text and "调查借款人" not in text and "Investigate borrower was due" in text


def test_the_page_in_chinese(client, auth, late):
    auth.login(AUDITOR)
    auth.post("/locale", {"locale": "zh_CN", "next": "/"})
    text = client.get("/audit/conformance?running=1").text
    assert "调查借款人" in text and "逾期完成" in text and "Done late" not in text


def test_only_the_auditor_sees_it(client, auth, late):
    auth.login("cm_wang")
    assert client.get("/audit/conformance").status_code == 403
    assert client.get("/audit/export.ocel").status_code == 403


@pytest.mark.parametrize("fmt, marker", [("ocel", '"objectTypes"'), ("xes", "<trace>")])
def test_event_log_downloads_carry_their_sha256(client, auth, late, fmt, marker):
    auth.login(AUDITOR)
    for path in (f"/audit/export.{fmt}", f"/audit/loans/{late}/export.{fmt}"):
        response = client.get(path)
        body = response.get_data()
        assert response.status_code == 200 and marker in body.decode("utf-8")
        assert response.headers["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
        assert "attachment" in response.headers["Content-Disposition"]
    one = json.loads(client.get(f"/audit/loans/{late}/export.ocel").get_data()) if fmt == "ocel" else None
    if one:
        assert {o["id"] for o in one["objects"] if o["type"] == "loan"} == {f"loan:{late}"}
