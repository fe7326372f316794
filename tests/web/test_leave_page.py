"""The mandatory-leave page (强制休假): the branch head and compliance see who has taken it; nobody else."""
from __future__ import annotations

import re
from datetime import date


def row(page: str, username: str) -> str:
    match = re.search(rf'<tr data-user="{username}".*?</tr>', page, re.S)
    assert match, f"no row for {username}"
    return match.group(0)


def test_the_branch_head_sees_who_has_taken_the_leave(client, auth, engine):
    engine.record_leave("cm_wang", date(2026, 3, 2), date(2026, 3, 6))
    engine.record_leave("cm_li", date(2026, 3, 2), date(2026, 3, 4))
    auth.login("head_qian")
    page = client.get("/leave/")
    assert page.status_code == 200
    assert "Mandatory leave" in page.text and "2026" in page.text
    assert "Compliant" in row(page.text, "cm_wang") and "Not yet" in row(page.text, "cm_li")
    assert "Customer manager" in row(page.text, "cm_li") and ">3<" in row(page.text, "cm_li")
    assert 'data-user="auditor_xie"' not in page.text
    assert 'href="/leave/"' in client.get("/").text  # the navigation shows the page


def test_a_year_is_chosen(client, auth, engine):
    engine.add_user("cm_gone", None)
    engine.grant_role("cm_gone", "customer_manager", "BJ01", valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31))
    auth.login("auditor_xie")
    page = client.get("/leave/?year=2025")
    assert page.status_code == 200 and "Missed" in row(page.text, "cm_gone")
    assert '<option value="2025" selected' in page.text
    assert 'data-user="cm_gone"' not in client.get("/leave/").text
    assert client.get("/leave/?year=soon").status_code == 400
    assert client.get("/leave/?year=1066").status_code == 400


def test_others_may_not_see_it(client, auth):
    auth.login("cm_wang")
    assert client.get("/leave/").status_code == 403
    assert 'href="/leave/"' not in client.get("/").text
