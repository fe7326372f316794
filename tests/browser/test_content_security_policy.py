"""The pages, diagrams included, work in Chromium under the Content-Security-Policy: no violation, no console error."""
from __future__ import annotations

import pytest

from ..web.webtest_helpers import PASSWORD

pytestmark = pytest.mark.browser

# Registered before any page script runs (Playwright's init scripts are not subject to the page's CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def sign_in(page, username: str) -> None:
    page.goto("/auth/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click(".signin button[type=submit]")
    page.wait_for_url("**/")


def visit(page, path: str, ready: str | None = None) -> list[str]:
    """Open a page (and wait for its diagrams); the CSP violations it caused."""
    response = page.goto(path)
    assert response.status == 200, path
    assert "script-src 'self'" in response.headers["content-security-policy"]
    if ready:
        page.wait_for_selector(ready)
        assert page.locator(".bjs-powered-by").first.is_visible()  # the bpmn.io licence needs the watermark shown
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__cspViolations")


def test_pages_and_diagrams_render_under_the_policy(page, loans):
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.add_init_script(RECORD_VIOLATIONS)
    reference = loans.start("cm_wang")
    loans.do(reference, "investigate", "cm_wang")
    review = loans.item(reference, "review")

    violations = {}
    sign_in(page, "cm_wang")
    for path, ready in (("/", None), ("/loans/new", None), (f"/loans/{reference}", "[data-diagram][data-ready=yes]"),
                        ("/?kind=done", None)):
        violations[path] = visit(page, path, ready)
    page.click("text=Sign out")
    page.wait_for_url("**/auth/login")

    sign_in(page, "rev_chen")
    violations["task"] = visit(page, f"/tasks/{review.id}")
    page.click("text=Sign out")
    page.wait_for_url("**/auth/login")

    sign_in(page, "auditor_xie")
    violations["/audit/"] = visit(page, "/audit/")
    violations["trace"] = visit(page, f"/audit/loans/{reference}", "[data-audit-diagram][data-ready=yes]")
    assert page.locator(".audit-who").count() >= 1  # overlays, which bpmn-js positions through element.style
    violations["heatmap"] = visit(page, "/audit/heatmap", "[data-audit-diagram][data-ready=yes]")
    assert page.locator(".heat-badge").count() >= 1
    violations["/audit/segregation"] = visit(page, "/audit/segregation")

    found = {path: v for path, v in violations.items() if v}
    assert found == {}
    assert console == []
