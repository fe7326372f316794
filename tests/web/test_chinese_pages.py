"""A Chinese credit officer never meets an English task name, a duty or role id, or a raw form choice on the pages
of the main flows: origination to disbursement, a post-loan inspection and the warning it raises, and the audit."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.bootstrap import BUNDLED_BPMN
from engine.access import PolicyDenied

BPMN = Path(BUNDLED_BPMN)
ROLE_IDS = ("customer_manager", "credit_reviewer", "risk_manager", "committee_member", "committee_chair",
            "disbursement_reviewer", "accounting_operator", "collateral_custodian", "post_loan_manager",
            "post_loan_head", "credit_risk_officer", "branch_head")
# Every free-text answer is Chinese, so any English word left on a page is the application's.
ANSWERS = {
    "investigate": {"findings": "经营现金流覆盖债务本息1.8倍。", "repayment_source": "经营性现金流",
                    "recommendation": "proceed"},
    "review": {"opinion": "风险已识别并缓释。", "decision": "pass"},
    "sign_business": {"decision": "approve", "conditions": "", "reason": "符合风险偏好。"},
    "sign_risk": {"decision": "approve", "conditions": "", "reason": "在本人权限内。"},
    "prepare_contract": {"contract_number": "HT-2026-001", "signed_on": "2026-11-20"},
    "register_collateral": {"collateral_description": "顺义厂房", "registration_number": "DJ-88",
                            "collateral_value": 3_000_000},
    "review_disbursement": {"decision": "conditions_met", "remarks": "条件均已落实。"},
    "execute_payment": {"payment_reference": "PAY-1", "payment_amount": 1_500_000, "further_drawdown": False},
    "assign_post_loan_manager": {"post_loan_manager": "plm_guo"},
    "lead_inspection": {"visit_date": "2026-12-05", "inspection_findings": "经营正常。", "repayment_status": "current"},
    "assist_inspection": {"observations": "存货与账面一致。"},
    "review_inspection_report": {"disposition": "raise_warning", "remarks": "主要客户拖欠货款。"},
    "register_warning": {"registered_level": "level_2", "notes": "已核实。"},
}
ORIGINATION = (("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"),
               ("sign_risk", "risk_liu"), ("prepare_contract", "cm_wang"), ("register_collateral", "coll_hu"),
               ("review_disbursement", "disb_xu"), ("execute_payment", "acct_ma"),
               ("assign_post_loan_manager", "plh_luo"))
POST_LOAN = (("lead_inspection", "plm_guo"), ("assist_inspection", "cm_wang"),
             ("review_inspection_report", "plh_luo"), ("register_warning", "cro_gao"))


def english_task_names() -> set[str]:
    """Every task's, event's and process's English name in the catalogs beside the diagrams."""
    names = set()
    for model_file in BPMN.glob("*.bpmn"):
        model = model_file.read_text(encoding="utf-8")
        catalog = model_file.with_name(model_file.stem + ".en.json")
        tasks = set(re.findall(r'<bpmn:(?:userTask|process|scriptTask|businessRuleTask|startEvent|endEvent|'
                               r'intermediateThrowEvent|intermediateCatchEvent|callActivity|subProcess) id="([^"]+)"',
                               model))
        names |= {entry["name"] for element, entry in json.loads(catalog.read_text())["elements"].items()
                  if element in tasks and entry.get("name")}
    return names


def form_choices() -> set[str]:
    choices = set()
    for form in (BPMN / "forms").glob("*.json"):
        for prop in json.loads(form.read_text())["properties"].values():
            choices |= set(prop.get("enum") or prop.get("items", {}).get("enum") or [])
    return choices


def duty_ids(engine) -> set[str]:
    return set(engine.policy.duty_specs)


class VisibleText(HTMLParser):
    """The text a person reads: no tags, attributes, scripts or styles, nor data marked as not to be translated
    (translate="no": the raw JSON of an audit event, one click away behind its sentence)."""

    def __init__(self):
        super().__init__()
        self.parts, self.hidden, self.raw = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.hidden += 1
        elif ("translate", "no") in attrs:
            self.hidden += 1
            self.raw.append(tag)

    def handle_endtag(self, tag):
        if self.raw and tag == self.raw[-1]:
            self.raw.pop()
            self.hidden -= 1
        elif tag in ("script", "style", "template") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def leaks(text: str, words: set[str]) -> list[str]:
    """Words found as whole tokens (user names such as cm_wang and references are other tokens)."""
    return sorted(w for w in words if re.search(r"(?<![A-Za-z0-9_-])" + re.escape(w) + r"(?![A-Za-z0-9_-])", text))


@pytest.fixture
def officer(client, auth):
    """Signs in as someone who chose Chinese in the navigation; returns a page getter that checks every page."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the session's choice must win over the browser's

    signed_in = []

    def sign_in(username):
        if signed_in:
            auth.logout()
        auth.login(username)
        signed_in.append(username)
        auth.post("/locale", {"locale": "zh_CN", "next": "/"})
    return sign_in


class Pages:
    def __init__(self, client, engine):
        self.client, self.seen = client, {}
        self.forbidden = {"English task name": english_task_names(), "duty id": duty_ids(engine),
                          "role id": set(ROLE_IDS), "raw form choice": form_choices()}

    def get(self, path: str) -> str:
        response = self.client.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.status_code)
        text = visible(response.get_data(as_text=True))
        self.seen[path] = text
        return text

    def problems(self) -> dict:
        found = {}
        for path, text in self.seen.items():
            for kind, words in self.forbidden.items():
                hit = leaks(text, words)
                if hit:
                    found.setdefault(path, {})[kind] = [
                        text[max(0, m.start() - 40):m.end() + 40] for w in hit
                        for m in [re.search(r"(?<![A-Za-z0-9_-])" + re.escape(w) + r"(?![A-Za-z0-9_-])", text)]]
        return found


def test_the_chinese_pages_of_the_main_flows_show_no_english_and_no_codes(client, auth, officer, engine, loans,
                                                                        clock):
    pages = Pages(client, engine)
    ref = loans.start(borrower="恒达精密机械有限公司")
    for bpmn_id, user in ORIGINATION:
        officer(user)
        item = loans.item(ref, bpmn_id)
        pages.get("/")
        pages.get("/?kind=available")
        pages.get(f"/tasks/{item.id}")
        if bpmn_id == "sign_risk":  # the investigator's refusal is audited: its reason must read in Chinese too
            with pytest.raises(PolicyDenied):
                engine.complete("cm_wang", item.id, ANSWERS["sign_risk"], source="cli")
        if bpmn_id == "review":  # completed through the page: the flash names the task in Chinese
            auth.post(f"/tasks/{item.id}/claim")
            done = auth.post(f"/tasks/{item.id}/complete", ANSWERS["review"], follow_redirects=True)
            flash = visible(done.get_data(as_text=True))
            assert "审查授信材料" in flash and "Review credit file" not in flash
            pages.seen[f"flash after {bpmn_id}"] = flash
            continue
        loans.do(ref, bpmn_id, user, **ANSWERS[bpmn_id])
        pages.get("/?kind=done")
    clock.advance(days=15, minutes=1)
    assert engine.tick() == 1
    for bpmn_id, user in POST_LOAN:
        officer(user)
        item = loans.item(ref, bpmn_id)
        pages.get("/")
        pages.get(f"/tasks/{item.id}")
        loans.do(ref, bpmn_id, user, **ANSWERS[bpmn_id])
    officer("cro_gao")
    pages.get("/?kind=available")
    decide = pages.get(f"/tasks/{loans.item(ref, 'decide_warning').id}")
    assert "认定预警" in decide and "二级" in decide  # the registered level, by its title
    pages.get(f"/loans/{ref}")
    officer("auditor_xie")
    pages.get("/audit/")
    trace = pages.get(f"/audit/loans/{ref}")
    pages.get(f"/audit/?loan={ref}&outcome=denied")
    pages.get("/audit/segregation")
    pages.get("/audit/heatmap")
    assert "现场检查(主检)" in trace and "调查借款人" in trace  # steps by their Chinese names
    refused = pages.seen[f"/audit/?loan={ref}&outcome=denied"]
    assert "审批签字(风险)" in refused and "没有风险经理岗位授权" in refused  # the refusal's reason in Chinese
    loan_page = pages.seen[f"/loans/{ref}"]
    assert "主持了现场检查" in loan_page and "发起了预警" in loan_page  # who did what, in words
    recorded = pages.seen[f"/tasks/{loans.item(ref, 'decide_warning').id}"].split("档案中已记录", 1)[1]
    assert "调查建议 提交审查" in recorded and "受托支付 否" in recorded and "支付金额（元） 1,500,000.00" in recorded
    assert pages.problems() == {}


def test_the_check_catches_an_english_name_and_a_raw_choice():
    text = visible('<p title="lead_inspection">Investigate borrower</p><script>var x = "proceed"</script>'
                   '<td>cm_wang</td><td>proceed</td>')
    assert leaks(text, {"Investigate borrower", "proceed", "lead_inspection", "cm"}) == ["Investigate borrower",
                                                                                       "proceed"]
