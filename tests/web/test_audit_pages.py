"""The audit pages: the auditor reads everything and changes nothing; nobody else sees them."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.access import PolicyDenied
from engine.store.models import AuditEvent, DutyRecord, Loan, WorkItem

AUDITOR = "auditor_xie"
PAGES = ["/audit/", "/audit/heatmap", "/audit/segregation", "/audit/policy", "/audit/integrity", "/audit/loans/{ref}",
         "/audit/export.csv", "/audit/export.json", "/audit/loans/{ref}/export.csv", "/audit/loans/{ref}/export.json",
         "/audit/versions/1/diagram.bpmn", "/audit/static/audit.js", "/audit/conformance", "/audit/export.ocel",
         "/audit/loans/{ref}/export.xes"]
# Posts that change only the visitor's own session, not the bank's data.
SESSION_ONLY = {"auth.login", "auth.logout", "i18n.switch_locale",
                "notifications.read_all", "notifications.read_one"}  # one's own notifications: no loan changes
# The one write an auditor may do: verifying the trail records the verification (its result, a checkpoint, its
# audit event) and changes no business data (tests/web/test_audit_integrity.py; nobody else may run it).
AUDITOR_MAY = {"audit.verify"}


@pytest.fixture
def approved(loans, engine):
    """A loan at its contract stage, with one refusal on the way (the investigator, who also holds a risk grant,
    tried to sign the risk signature)."""
    person = loans.dual_hat()
    ref = loans.start(person, borrower="<script>alert(1)</script> Trading Co.")
    loans.do(ref, "investigate", person, findings="<b>bold</b> & <script>alert('x')</script>")
    loans.do(ref, "review", "rev_chen")
    loans.do(ref, "sign_business", person)
    with pytest.raises(PolicyDenied):
        loans.do(ref, "sign_risk", person)
    loans.do(ref, "sign_risk", "risk_liu")
    return ref


def fetch(client, path: str):
    """GET and read the whole body, closing the response (files and streamed exports hold resources)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


@pytest.mark.parametrize("path", PAGES)
def test_the_auditor_reads_every_page(client, auth, approved, path):
    auth.login(AUDITOR)
    response = fetch(client, path.format(ref=approved))
    assert response.status_code == 200, response.text[:500]


@pytest.mark.parametrize("user", ["cm_wang", "rev_chen", "risk_liu", "plh_luo", "designer_zheng", "admin"])
def test_nobody_else_reads_them(client, auth, approved, user):
    auth.login(user)
    for path in PAGES:
        assert fetch(client, path.format(ref=approved)).status_code == 403, path


def test_signed_out_visitors_are_sent_to_sign_in(client, approved):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_audit_blueprint_reads_and_only_records_verifications(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert len(rules) == 18  # search, trace, heatmap, segregation, conformance and their exports; policy versions,
    # their diff, a person's timeline; the accountability register's list, loan page and their exports; integrity
    assert {r.endpoint for r in rules if not r.methods <= {"GET", "HEAD", "OPTIONS"}} == AUDITOR_MAY


def _business_state(engine) -> tuple:
    """Everything a write would change: loans, tasks, duties, and every event except sign-ins and refusals."""
    with engine.db.reading() as session:
        events = session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.not_in(("signed_in", "sign_in_failed", "refused"))).order_by(AuditEvent.id)).all()
        return (tuple(events), session.scalar(select(func.count()).select_from(Loan)),
                tuple(session.execute(select(WorkItem.id, WorkItem.claimed_by).order_by(WorkItem.id)).all()),
                session.scalar(select(func.count()).select_from(DutyRecord)))


def _write_routes(app):
    return [r for r in app.url_map.iter_rules()
            if r.methods & {"POST", "PUT", "PATCH", "DELETE"} and r.endpoint not in SESSION_ONLY | AUDITOR_MAY]


def _url(rule, item_id: int, ref: str, change_id: int = 1) -> str:
    return (rule.rule.replace("<int(max=2147483647):item_id>", str(item_id)).replace("<reference>", ref)
            .replace("<int(max=2147483647):incident_id>", "1")
            .replace("<int(max=2147483647):change_id>", str(change_id)).replace("<process_id>", "origination")
            .replace("<int(max=2147483647):finding_id>", "1"))


def test_every_write_route_refuses_the_auditor(app, client, auth, engine, loans, approved):
    item = loans.item(approved, "prepare_contract")
    token = engine.issue_token(AUDITOR)
    text = engine.current_files()["origination.bpmn"]
    change = engine.save_change("designer_zheng", {"origination.bpmn": text.replace('name="调查借款人"', 'name="调查"')})
    engine.submit_change("designer_zheng", change.id)
    before = _business_state(engine)
    routes = _write_routes(app)
    assert {r.endpoint for r in routes} >= {"tasks.complete", "tasks.claim", "tasks.release", "loans.create",
                                            "api.start_loan", "api.claim", "api.release", "api.complete"}
    auth.login(AUDITOR)
    contract = {"contract_number": "HT-9", "signed_on": "2026-11-20"}
    application = {"borrower": "Auditor Co.", "product": "working_capital", "amount": 1_000_000, "term_months": 12,
                   "branch": "BJ01"}
    api_bodies = {"api.start_loan": application, "api.complete": {"data": contract}}
    for rule in routes:
        url = _url(rule, item.id, approved, change.id)
        assert "<" not in url, f"no test value for {rule.rule}"
        if rule.endpoint.startswith("api."):
            send = client.post if "POST" in rule.methods else client.put
            response = send(url, json=api_bodies.get(rule.endpoint, {}), headers={"Authorization": f"Bearer {token}"})
        else:
            response = auth.post(url, {**contract, **application, "signal": "Sales fell by 40%."})
        assert response.status_code == 403, (rule.endpoint, response.status_code, response.text[:300])
    assert _business_state(engine) == before


def test_search_filters_pages_and_exports(client, auth, approved, engine):
    auth.login(AUDITOR)
    page = client.get(f"/audit/?loan={approved}&action=task_completed")
    assert page.status_code == 200
    rows = re.findall(r'data-event="(\d+)"', page.text)
    assert len(rows) == 4  # investigate, review, and the two signatures
    assert "cm_dual" in page.text and "risk_liu" in page.text
    denied = client.get("/audit/?outcome=denied&rule=SOD-01").text
    assert len(re.findall(r'data-event="(\d+)"', denied)) == 1 and "row-denied" in denied

    for _n in range(60):  # enough events for two pages, whatever the database held before
        engine.sign_in("nobody", "guess", free_attempts=60)  # no lock in the way
    everything = client.get("/audit/").text
    first = re.findall(r'data-event="(\d+)"', everything)
    assert len(first) == 50 and 'rel="next"' in everything
    older_link = re.search(r'href="([^"]*after=\d+[^"]*)" rel="next"|rel="next" href="([^"]*)"', everything)
    older = client.get((older_link.group(1) or older_link.group(2)).replace("&amp;", "&")).text
    second = re.findall(r'data-event="(\d+)"', older)
    assert second and int(second[0]) < int(first[-1]) and 'rel="prev"' in older

    exported = fetch(client, f"/audit/export.csv?loan={approved}")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {r["loan_ref"] for r in table} == {approved} and len(table[0]["hash"]) == 64
    as_json = json.loads(fetch(client, f"/audit/export.json?loan={approved}&action=refused").get_data(as_text=True))
    assert [(e["action"], e["rule"], e["outcome"]) for e in as_json] == [("refused", "SOD-01", "denied")]


def test_trace_shows_path_performers_and_form_diffs_escaped(client, auth, approved):
    auth.login(AUDITOR)
    page = client.get(f"/audit/loans/{approved}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Trading Co." in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;" in page  # the investigation's findings, before and after
    diagram = re.search(r'data-performers="([^"]*)"', page).group(1)
    performers = json.loads(diagram.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
    assert performers["investigate"][0].startswith("cm_dual") and performers["sign_business"][0].startswith("cm_dual")
    assert performers["sign_risk"][0].startswith("risk_liu")
    assert 'data-audit-diagram="trace"' in page and "/audit/versions/" in page
    assert "SOD-01" in page and "decide_tier" in page
    trace_json = json.loads(fetch(client, f"/audit/loans/{approved}/export.json").get_data(as_text=True))
    assert trace_json[0]["action"] == "loan_created" and trace_json == sorted(trace_json, key=lambda e: e["occurred_at"])
    assert client.get("/audit/loans/L-2099-999999").status_code == 404
    assert fetch(client, "/audit/loans/L-2099-999999/export.csv").status_code == 404
    named = fetch(client, f"/audit/loans/{approved}/export.csv")
    assert named.headers["Content-Disposition"] == f'attachment; filename="audit-{approved}.csv"'
    assert fetch(client, f"/audit/loans/{approved}/export.xml").status_code == 404


def test_heatmap_counts_steps_on_the_chosen_version(client, auth, approved, engine):
    auth.login(AUDITOR)
    page = client.get("/audit/heatmap").text
    assert 'data-audit-diagram="heatmap"' in page
    assert re.search(r'<tr data-step="investigate">.*?<td class="num">1</td>', page, re.S)
    steps = json.loads(re.search(r'data-steps="([^"]*)"', page).group(1).replace("&#34;", '"').replace("&quot;", '"'))
    assert steps["review"]["kind"] == "user" and steps["review"]["instances"] == 1
    assert steps["decide_tier"]["kind"] == "automatic"


def test_segregation_report_groups_the_refusal(client, auth, approved):
    auth.login(AUDITOR)
    page = client.get("/audit/segregation").text
    assert re.search(r'<tr data-rule="SOD-01">.*?<td class="num">1</td>.*?cm_dual', page, re.S)
    assert re.search(r'<tr data-user="cm_dual">.*?SOD-01', page, re.S)
    assert "None: the recorded duties satisfy every pair rule" in page


def test_every_action_the_engine_records_has_a_label():
    from webapp.audit.params import ACTIONS
    engine_dir = Path(__file__).resolve().parents[2] / "engine"
    recorded = {m for f in engine_dir.rglob("*.py") for m in re.findall(r'audit\.record\(\s*"([a-z_]+)"', f.read_text())}
    assert recorded and recorded <= set(ACTIONS), sorted(recorded - set(ACTIONS))


def test_the_nav_link_is_for_auditors(client, auth, approved):
    auth.login(AUDITOR)
    assert 'href="/audit/"' in client.get("/").text
    auth.logout()
    auth.login("cm_wang")
    assert 'href="/audit/"' not in client.get("/").text
