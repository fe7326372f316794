"""The inbox: each role sees only its work; filters, overdue highlighting, counts, claim and release."""
from __future__ import annotations

import re

TASK_ROW = re.compile(r'data-task-id="(\d+)"')


def task_ids(response) -> set[int]:
    return {int(i) for i in TASK_ROW.findall(response.text)}


def test_originator_finds_the_investigation_in_my_tasks(client, auth, loans):
    ref = loans.start("cm_wang")
    item = loans.item(ref, "investigate")
    auth.login("cm_wang")
    page = client.get("/")
    assert page.status_code == 200
    assert task_ids(page) == {item.id}
    assert "Assigned to you" in page.text and ref in page.text
    assert re.search(r'data-count="mine">\s*1\s*<', page.text)


def test_each_role_sees_only_its_work(client, auth, loans):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    review = loans.item(ref, "review")
    auth.login("rev_chen")
    assert task_ids(client.get("/?kind=available")) == {review.id}
    assert task_ids(client.get("/")) == set()
    auth.logout()
    for user in ("cm_wang", "cm_li", "risk_liu", "acct_ma"):
        auth.login(user)
        assert review.id not in task_ids(client.get("/?kind=available")), user
        assert review.id not in task_ids(client.get("/")), user
        auth.logout()


def test_approval_is_not_offered_to_the_investigator(client, auth, loans):
    ref, person = loans.at_risk_signature()
    sign = loans.item(ref, "sign_risk")
    auth.login(person)
    assert sign.id not in task_ids(client.get("/?kind=available"))
    auth.logout()
    auth.login("risk_liu")
    assert sign.id in task_ids(client.get("/?kind=available"))


def test_done_by_me_lists_completed_steps(client, auth, loans):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    auth.login("cm_wang")
    page = client.get("/?kind=done")
    assert ref in page.text and "investigated" in page.text


def test_overdue_work_is_highlighted(client, auth, loans, clock):
    loans.start("cm_wang")
    auth.login("cm_wang")
    assert "row-overdue" not in client.get("/").text
    clock.advance(days=10)
    page = client.get("/")
    assert "row-overdue" in page.text and "Overdue" in page.text
    assert task_ids(client.get("/?overdue=1"))


def test_filters_by_stage_branch_and_due_date(client, auth, loans, clock):
    first = loans.start("cm_wang")
    loans.do(first, "investigate", "cm_wang")
    second = loans.start("cm_li")
    loans.do(second, "investigate", "cm_li")
    auth.login("rev_chen")
    assert len(task_ids(client.get("/?kind=available&stage=review"))) == 2
    assert task_ids(client.get("/?kind=available&stage=approval")) == set()
    assert task_ids(client.get("/?kind=available&branch=SH01")) == set()
    assert len(task_ids(client.get("/?kind=available&branch=BJ01"))) == 2
    assert task_ids(client.get("/?kind=available&due=2026-11-01")) == set()
    assert len(task_ids(client.get("/?kind=available&due=2026-12-31"))) == 2
    assert client.get("/?kind=nonsense&stage=bogus&due=not-a-date&page=x").status_code == 200


def test_claim_moves_a_task_to_my_tasks_and_release_gives_it_back(client, auth, loans):
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    review = loans.item(ref, "review")
    auth.login("rev_chen")
    response = auth.post(f"/tasks/{review.id}/claim")
    assert response.status_code == 302
    assert task_ids(client.get("/")) == {review.id}
    auth.logout()
    auth.login("rev_zhou")
    assert review.id not in task_ids(client.get("/?kind=available"))
    refused = auth.post(f"/tasks/{review.id}/claim")
    assert refused.status_code == 403 and "already claimed by rev_chen" in refused.text
    auth.logout()
    auth.login("rev_chen")
    assert auth.post(f"/tasks/{review.id}/release").status_code == 302
    assert task_ids(client.get("/")) == set()
    assert review.id in task_ids(client.get("/?kind=available"))


def test_paging(app, client, auth, loans):
    app.config["INBOX_PAGE_SIZE"] = 2
    for _ in range(3):
        loans.start("cm_wang")
    auth.login("cm_wang")
    first, second = client.get("/?page=1"), client.get("/?page=2")
    assert len(task_ids(first)) == 2 and len(task_ids(second)) == 1
    assert "Page 1 of 2" in first.text


def test_an_available_page_reads_the_same_statements_for_one_row_as_for_many(app, client, auth, loans, engine):
    """Rows come with what the page and the policy read of their loans: nothing is loaded row by row."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    def statements_for_page() -> tuple[int, int]:
        seen.clear()
        event.listen(engine.db.engine, "before_cursor_execute", count)
        try:
            page = client.get("/?kind=available")
        finally:
            event.remove(engine.db.engine, "before_cursor_execute", count)
        return len(task_ids(page)), list(seen)

    loans.do(loans.start("cm_wang"), "investigate", "cm_wang")
    auth.login("rev_chen")
    statements_for_page()  # the first page in this process reads the diagrams' words once
    rows_one, one = statements_for_page()
    for _ in range(4):
        loans.do(loans.start("cm_wang"), "investigate", "cm_wang")
    rows_many, many = statements_for_page()
    assert (rows_one, rows_many) == (1, 5)
    from collections import Counter
    short = lambda found: Counter(" ".join(s.split())[:90] for s in found)  # noqa: E731
    assert short(many) == short(one)


def test_the_row_links_are_the_ones_url_for_builds(app):
    from flask import url_for

    from webapp.templating import url_maker

    with app.test_request_context("/"):
        for endpoint, param, values in (("tasks.show", "item_id", (1, 987654, 12)),
                                        ("tasks.claim", "item_id", (7, 1234567890)),
                                        ("loans.show", "reference", ("L-2026-000001", "CB 2026/0047", "贷-1"))):
            make = url_maker(endpoint, param)
            assert [make(v) for v in values] == [url_for(endpoint, **{param: v}) for v in values]
