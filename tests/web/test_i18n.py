"""Chinese and English: Accept-Language, the switch in the navigation, form labels, and the catalogs themselves."""
from __future__ import annotations

import gettext
import re

from babel.messages.pofile import read_po

from engine.i18n import TRANSLATIONS, translations

PLACEHOLDER = re.compile(r"%\((\w+)\)")


def test_chinese_by_accept_language(client, auth):
    auth.login("cm_wang")
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "我的任务" in page.text and "可领取的任务" in page.text and 'lang="zh-CN"' in page.text
    assert "My tasks" in client.get("/", headers={"Accept-Language": "en-US"}).text


def test_language_switch_is_remembered(client, auth):
    auth.login("cm_wang")
    response = auth.post("/locale", {"locale": "zh_CN", "next": "/?kind=done"})
    assert response.status_code == 302 and response.headers["Location"] == "/?kind=done"
    assert "我已办" in client.get("/", headers={"Accept-Language": "en"}).text
    auth.post("/locale", {"locale": "en", "next": "//evil.example"})
    assert "Done by me" in client.get("/", headers={"Accept-Language": "zh-CN"}).text


def test_form_titles_and_choices_in_chinese(client, auth, loans):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    page = client.get(f"/tasks/{item.id}", headers={"Accept-Language": "zh-CN"}).text
    assert "调查结论" in page and "第一还款来源" in page and "提交审查" in page
    assert "调查借款人" in page and "Investigate borrower" not in page  # the task's name in the reader's language
    english = client.get(f"/tasks/{item.id}", headers={"Accept-Language": "en"}).text
    assert "Investigate borrower" in english and "调查借款人" not in english  # from the catalog beside the BPMN
    assert "流动资金贷款" in page and "1,500,000.00" in page


def test_refusal_in_chinese(client, auth, loans):
    ref, person = loans.at_risk_signature()
    sign = loans.item(ref, "sign_risk")
    auth.login(person)
    page = client.get(f"/tasks/{sign.id}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 403
    assert "须由不同人员办理" in page.text and "调查(主调)" in page.text


def test_field_errors_in_chinese(client, auth, loans):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    response = auth.post(f"/tasks/{item.id}/complete", {}, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 400 and "此项必填。" in response.text and "表单有误" in response.text


def _catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


def test_every_message_has_a_chinese_translation_with_known_parameters():
    for message in _catalog("zh_CN"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {message.id!r}"
        allowed = {p for i in ids for p in PLACEHOLDER.findall(i)}
        allowed |= {f"{p}_zh" for p in allowed} | {"duty_a_zh", "duty_b_zh"}
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= allowed, message.id
        assert "fuzzy" not in message.flags, message.id


def test_compiled_catalogs_match_the_sources():
    for locale in ("zh_CN", "en"):
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as f:
            compiled = gettext.GNUTranslations(f)
        for message in _catalog(locale):
            if message.id and not isinstance(message.id, tuple) and message.string:
                assert compiled.gettext(message.id) == message.string, (locale, message.id)


def test_the_cli_reads_the_same_catalog():
    assert translations("zh_CN").gettext("This field is required.") == "此项必填。"
    assert translations("zh_CN").gettext("No loan %(loan)s.") == "没有贷款 %(loan)s。"
