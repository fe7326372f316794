"""The notification list, its badge in the navigation, marking read, and the JSON list for other systems."""
from __future__ import annotations

import re

BADGE = re.compile(r'data-count="notifications"[^>]*>(\d+)<')


def badge(client) -> int:
    match = BADGE.search(client.get("/").get_data(as_text=True))
    assert match, "no notification badge in the navigation"
    return int(match.group(1))


def test_the_badge_counts_what_is_unread(client, auth, loans):
    auth.login("cm_wang")
    assert badge(client) == 0
    loans.start()
    loans.start(borrower="Second Co.")
    assert badge(client) == 2
    auth.logout()
    auth.login("rev_chen")
    assert badge(client) == 0  # someone else's notifications are not counted


def test_the_list_in_english_and_in_chinese_links_to_the_task(client, auth, loans):
    ref = loans.start()
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    page = client.get("/notifications/").get_data(as_text=True)
    assert f"New task for you: Investigate borrower on loan {ref}." in page
    assert f'href="/tasks/{item.id}"' in page and "Mark all read" in page
    chinese = client.get("/notifications/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"您有新任务：贷款 {ref} 的“调查借款人”。" in chinese and "全部标为已读" in chinese
    assert "通知" in chinese


def test_newest_first_and_a_decision_links_to_the_loan(client, auth, loans):
    first = loans.start()
    rejected = loans.start(borrower="Rejected Co.")
    loans.do(rejected, "investigate", "cm_wang")
    loans.do(rejected, "review", "rev_chen", decision="reject", opinion="Repayment source unproven.")
    auth.login("cm_wang")
    page = client.get("/notifications/").get_data(as_text=True)
    rejection = page.index(f"Your loan application {rejected} (Rejected Co.) was rejected.")
    assert rejection < page.index(f"on loan {first}.")
    assert f'href="/loans/{rejected}"' in page


def test_mark_one_read_then_all(client, auth, loans, engine):
    loans.start()
    loans.start(borrower="Second Co.")
    auth.login("cm_wang")
    newest, older = engine.notifications("cm_wang", "en")
    response = auth.post(f"/notifications/{older.id}/read")
    assert response.status_code == 302 and badge(client) == 1
    unread = client.get("/notifications/?show=unread").get_data(as_text=True)
    assert f'data-notification="{newest.id}"' in unread and f'data-notification="{older.id}"' not in unread
    response = auth.post("/notifications/read", follow_redirects=True)
    assert "1 notification(s) marked read." in response.get_data(as_text=True) and badge(client) == 0
    assert "Mark all read" not in client.get("/notifications/").get_data(as_text=True)


def test_marking_needs_the_csrf_token_and_ones_own_notification(client, auth, loans, engine):
    loans.start()
    [note] = engine.notifications("cm_wang", "en")
    auth.login("rev_chen")
    assert client.post(f"/notifications/{note.id}/read").status_code == 400  # no CSRF token
    page = auth.post(f"/notifications/{note.id}/read", follow_redirects=True).get_data(as_text=True)
    assert f"Notification {note.id} does not exist." in page
    assert engine.unread_notifications("cm_wang") == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/notifications/").status_code == 302
    assert client.post("/notifications/read").status_code in (302, 400)


def test_the_api_lists_my_notifications_in_the_request_language(client, engine, loans):
    ref = loans.start()
    headers = {"Authorization": f"Bearer {engine.issue_token('cm_wang')}"}
    body = client.get("/api/v1/notifications", headers=headers).get_json()
    assert body["unread"] == 1
    [note] = body["notifications"]
    assert note["kind"] == "task_assigned" and note["loan"] == ref and note["read"] is False
    assert note["link"] == f"/tasks/{note['task_id']}" and note["title"] == "New task"
    chinese = client.get("/api/v1/notifications", headers={**headers, "Accept-Language": "zh-CN"}).get_json()
    assert chinese["notifications"][0]["text"].startswith("您有新任务")
    engine.mark_notifications_read("cm_wang")
    unread = client.get("/api/v1/notifications?unread=true", headers=headers).get_json()
    assert unread == {"unread": 0, "notifications": []}
    bad = client.get("/api/v1/notifications?unread=maybe", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid_input"
    unknown = client.get("/api/v1/notifications?unred=true", headers=headers)  # a misspelt filter is not ignored
    assert unknown.status_code == 400 and "unred" in unknown.get_json()["message"]
    assert client.get("/api/v1/notifications").status_code == 401


def test_metrics_count_the_e_mails_waiting_and_failed(client):
    text = client.get("/metrics").get_data(as_text=True)
    assert 'creditflow_notification_emails{status="pending"} 0.0' in text
    assert 'creditflow_notification_emails{status="failed"} 0.0' in text
