"""The audit in words: events as sentences in the reader's language, the policy over time, a person over time."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from engine.access import PolicyDenied
from engine.audit.search import EventView
from engine.store.models import AuditEvent
from policies import messages
from webapp.audit.params import ACTIONS
from webapp.audit.sentences import SENTENCES, THIRD_PERSON, sentence

AUDITOR = "auditor_xie"
SENTENCE = re.compile(r'<p class="audit-sentence"[^>]*>(.*?)</p>', re.S)


def sentences(page: str) -> list[str]:
    return [html.unescape(s).strip() for s in SENTENCE.findall(page)]


def chinese(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"


def codes(engine, ref: str) -> set[str]:
    """Ids a Chinese reader must never meet in a sentence: duties, roles, and the steps the loan's events name."""
    with engine.db.reading() as session:
        steps = set(session.scalars(select(AuditEvent.step).where(AuditEvent.loan_ref == ref)))
    found = set(engine.policy.duty_specs) | set(engine.policy.roles) | {s for s in steps if s}
    return {code for code in found if len(code) > 3}


def test_every_action_has_its_own_sentence():
    assert set(ACTIONS) - set(SENTENCES) == set()


def test_every_third_person_reason_answers_an_engine_template():
    templates = {value for name, value in vars(messages).items() if name.isupper() and isinstance(value, str)}
    templates.add("You can only release a task you have claimed.")
    assert set(THIRD_PERSON) <= templates
    second_person = {t for t in templates if re.search(r"\b[Yy]ou(r)?\b", t)}
    assert second_person <= set(THIRD_PERSON)
    assert not any(re.search(r"\b[Yy]ou(r)?\b", t) for t in THIRD_PERSON.values())


def _event(action: str, **fields) -> EventView:
    values = dict(id=1, occurred_at=datetime(2026, 11, 20, tzinfo=timezone.utc), action=action, outcome="done",
                  loan_ref=None, process_id=None, process_version=None, instance_id=None, step=None, step_name=None,
                  actor="cm_wang", role="customer_manager", on_behalf_of=None, source="web", policy_version="2026.3",
                  rule=None, reason=None, detail={}, prev_hash="0", hash="1")
    return EventView(**{**values, **fields})


def test_an_action_without_a_sentence_of_its_own_still_reads(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        text = sentence(_event("something_new_happened", loan_ref="L-2026-000009"))
    assert text.startswith("Wang") or "(Customer manager)" in text
    assert "something_new_happened" in text and "L-2026-000009" in text


@pytest.mark.parametrize("detail", [{}, {"username": None, "present": "cm_wang", "amount": "x", "before": [1],
                                     "after": "text", "params": "?", "template": 3, "message": None},
                                    ["not", "a", "dict"]])
def test_every_action_reads_whatever_its_recorded_detail(app, detail):
    for locale in ("en", "zh-CN"):
        with app.test_request_context(headers={"Accept-Language": locale}):
            for action in ACTIONS:
                text = sentence(_event(action, detail=detail, loan_ref="L-2026-000009", step="review",
                                       process_id="origination", process_version=1, reason="because"))
                assert text and "%(" not in text, (action, text)


def test_a_committee_without_quorum_reads_as_such_in_chinese(app):
    tally = _event("step_completed", actor=None, role=None, loan_ref="L-2026-000009", process_id="origination",
                   process_version=1, step="tally_votes", step_name="计票",
                   detail={"kind": "ScriptTask", "changed": {"committee_result": {"outcome": "no_quorum"}}})
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        text = sentence(tally)
    assert "结果：未达法定人数" in text and "no_quorum" not in text


def test_a_driven_loan_reads_as_sentences_in_chinese_and_english(client, auth, loans, engine):
    ref = loans.disbursed()
    auth.login(AUDITOR)
    english = sentences(client.get(f"/audit/loans/{ref}").text)
    assert len(english) > 20
    assert any(s.startswith("The task “") for s in english)
    assert any("completed the task" in s and "(Customer manager)" in s for s in english)
    chinese(client)
    page = client.get(f"/audit/loans/{ref}").text
    said = sentences(page)
    assert len(said) == len(english)
    raw = codes(engine, ref)
    for text in said:
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]+", text))
        assert not words & raw, (text, words & raw)
    assert any("完成了任务" in s and "（客户经理）" in s for s in said)
    assert "Raw JSON" not in page and "原始 JSON" in page  # the recorded data is one click away
    search = sentences(client.get(f"/audit/?loan={ref}").text)
    assert search and all(not set(re.findall(r"[A-Za-z_][A-Za-z0-9_]+", s)) & raw for s in search)


def test_a_refusal_reads_in_the_third_person_in_chinese(client, auth, loans, engine):
    ref, person = loans.at_risk_signature()
    with pytest.raises(PolicyDenied):
        loans.do(ref, "sign_risk", person)
    auth.login(AUDITOR)
    chinese(client)
    said = sentences(client.get(f"/audit/?loan={ref}&action=refused").text)
    assert said, "the refusal is listed"
    refusal = said[0]
    name = engine.user(person).display_name or person
    assert refusal.startswith(name) and "被拒绝" in refusal and "SOD-01" in refusal
    assert "您" not in refusal and "You" not in refusal
    assert "贷款 " + ref in refusal


def test_the_policy_versions_and_their_differences_after_a_change_is_deployed(client, auth, engine):
    text = engine.current_policy_text()
    changed = text.replace("task_due_days: 3 ", "task_due_days: 4 ").replace(
        'version: "2026.3"', 'version: "2026.4"')
    draft = engine.save_change("designer_zheng", {}, note="Four days per task", policy_text=changed)
    engine.submit_change("designer_zheng", draft.id)
    engine.decide_change("designer_wu", draft.id, approve=True, reason="Agreed.")
    auth.login(AUDITOR)
    page = client.get("/audit/policy").text
    rows = re.findall(r'<tr data-version="([^"]+)"', page)
    assert rows == ["2026.4", "2026.3"]  # newest first, the bundled file too
    newest = page.split('data-version="2026.4"')[1].split("</tr>")[0]
    assert "designer_zheng" in newest and "designer_wu" in newest and "in force" in newest
    assert "bundled with the release" in page.split('data-version="2026.3"')[1].split("</tr>")[0]
    assert "task_due_days: 4" in html.unescape(page)  # each version's text, read-only
    diff = client.get("/audit/policy/diff?old=2026.3&new=2026.4")
    assert diff.status_code == 200
    body = html.unescape(diff.text)
    assert '-  task_due_days: 3' in body and '+  task_due_days: 4' in body
    assert 'data-parameter="task_due_days"' in body
    chinese(client)
    assert client.get("/audit/policy/diff").status_code == 200  # the newest against the one before


def test_a_person_timeline_shows_a_grant_a_leave_and_a_delegation_in_order(client, auth, engine, clock):
    if "audit_subject" not in set(engine.usernames()):  # PostgreSQL keeps the staff between tests
        engine.add_user("audit_subject", None, "审计对象")
    engine.grant_role("audit_subject", "credit_reviewer", "BJ01", None, date(2026, 1, 1), date(2027, 12, 31),
                      actor="admin")
    clock.advance(hours=1)
    engine.record_leave("audit_subject", date(2027, 2, 1), date(2027, 2, 10), actor="admin")
    clock.advance(hours=1)
    engine.delegate("audit_subject", "rev_chen", date(2027, 2, 1), date(2027, 2, 10), actor="admin")
    auth.login(AUDITOR)
    page = client.get("/audit/people/audit_subject").text
    section = page.split('id="timeline"')[1]
    kinds = [k for k in re.findall(r'data-kind="([^"]+)"', section) if k != "grant_held"]
    assert kinds[-3:] == ["role_granted", "leave_recorded", "delegation_recorded"]
    assert "BJ01" in section and "2027-12-31" in section and "2027-02-10" in section
    assert "/audit/people/rev_chen" in section  # the stand-in is named with a link to their own page
    search = client.get("/audit/?action=leave_recorded").text
    assert "/audit/people/admin" in search  # where a person is named, their page is one click away


@pytest.mark.parametrize("user, status", [("admin", 200), ("cm_wang", 403), ("designer_zheng", 403)])
def test_a_persons_page_is_for_the_auditor_and_the_administrator(client, auth, user, status):
    auth.login(user)
    assert client.get("/audit/people/rev_chen").status_code == status
    assert client.get("/audit/policy").status_code == (403 if user != AUDITOR else 200)


def test_an_unknown_person_or_policy_version_is_not_found(client, auth):
    auth.login(AUDITOR)
    assert client.get("/audit/people/nobody_here").status_code == 404
    single = client.get("/audit/policy/diff")  # a single version: the same text on both sides
    assert single.status_code == 200 and "The two texts are the same." in single.text
