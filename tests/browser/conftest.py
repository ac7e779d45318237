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
from site_browser import open_page

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
