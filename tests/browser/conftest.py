"""Fixtures of the browser tests: the site built once per session, served on 127.0.0.1, and Debian's Chromium
driven by Playwright (never a downloaded browser build)."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder carries the ``browser`` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


class QuietHandler(SimpleHTTPRequestHandler):
    """A static file server that does not log every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    """The built site served on a free port of 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium."""
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is required for the browser tests: `make browser-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser: Any, base_url: str, **context_options: Any) -> tuple[Any, Any]:
    """A new context and page that record requests leaving ``base_url`` and console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    page = context.new_page()
    page.outside_requests = []
    page.console_errors = []
    local = (base_url, "data:", "blob:", "about:")
    page.on("request", lambda r: None if r.url.startswith(local) else page.outside_requests.append(r.url))
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return context, page


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A page in the light theme; after the test, nothing left localhost and nothing was logged as an error."""
    context, page = open_page(browser, base_url)
    yield page
    context.close()
    assert page.outside_requests == [], page.outside_requests
    assert page.console_errors == [], page.console_errors


@pytest.fixture
def dark_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A page whose browser prefers the dark colour scheme (the site follows it: Material's slate)."""
    context, page = open_page(browser, base_url, color_scheme="dark")
    yield page
    context.close()
    assert page.outside_requests == [], page.outside_requests
    assert page.console_errors == [], page.console_errors
