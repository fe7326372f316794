"""A live server on a staffed SQLite database, and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine.clock import ManualClock
from engine.store.db import sqlite_url
from webapp import create_app

from ..web.webtest_helpers import START, Loans, seeded_sqlite_template

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_template(tmp_path_factory):
    return seeded_sqlite_template(tmp_path_factory.mktemp("browser-template") / "template.sqlite")


@pytest.fixture
def live_app(tmp_path, browser_template):
    target = tmp_path / "browser.sqlite"
    shutil.copy(browser_template, target)
    app = create_app({"SECRET_KEY": "browser-test", "DATABASE_URL": sqlite_url(target), "CLOCK": ManualClock(START),
                      "DOCUMENTS_PATH": str(tmp_path / "documents")})
    yield app
    app.extensions["creditflow"].db.dispose()


@pytest.fixture
def live_server(live_app):
    """The app on a real port in a thread (werkzeug), stopped after the test."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def loans(live_app):
    return Loans(live_app.extensions["creditflow"])


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def zh_page(chromium, live_server):
    """A desktop page in a Chinese browser (zh-CN), as the bank's staff use it."""
    context = chromium.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def shoot():
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return save
