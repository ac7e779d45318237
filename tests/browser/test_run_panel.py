"""The "Run it" panel: commands with copy buttons on the static site; with the companion of `make serve`, a real
run in the local sandbox streamed into the page, and a clear error when no sandbox runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awspatterns.catalog import load_catalog
from awspatterns.companion import make_server

#: A pattern whose `patterns run` is quick (no retries to wait for).
SLUG = "s3-fanout"


def serve_companion(site: Path, env: dict[str, str]) -> Iterator[str]:
    server = make_server(site, port=0, env=env)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def companion_without_sandbox(site: Path, tmp_path: Path) -> Iterator[str]:
    yield from serve_companion(site, {"AWSPATTERNS_SANDBOX_HOME": str(tmp_path / "no-sandbox-here")})


@pytest.fixture
def companion(site: Path, sandbox: Any) -> Iterator[str]:
    yield from serve_companion(site, {"AWSPATTERNS_SANDBOX_HOME": sandbox.state_dir})


@pytest.mark.parametrize("slug", [p.slug for p in load_catalog()])
def test_the_static_panel_shows_the_commands_with_copy_buttons(page: Any, base_url: str, slug: str) -> None:
    page.goto(f"{base_url}/patterns/{slug}/")
    panel = page.locator("[data-run-panel]")
    text = panel.inner_text()
    assert f"patterns run {slug}" in text and f"patterns run {slug} --target aws" in text
    assert f"patterns destroy {slug} --target aws" in text
    assert panel.locator("button[data-md-type=copy]").count() == 2  # Material's copy buttons
    assert panel.locator("[data-run-live]").is_hidden()


def test_without_a_sandbox_the_panel_says_so(browser: Any, companion_without_sandbox: str) -> None:
    from site_browser import axe_violations, open_page

    context, page = open_page(browser, companion_without_sandbox)
    page.goto(f"{companion_without_sandbox}/patterns/{SLUG}/")
    page.get_by_role("button", name="Run", exact=True).click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "The local sandbox is not running" in alert.inner_text()
    assert "patterns sandbox start" in alert.inner_text()
    assert page.get_by_role("button", name="Run", exact=True).is_enabled()
    assert axe_violations(page) == []  # the live panel, its error included
    context.close()
    assert page.outside_requests == [] and page.console_errors == []


@pytest.mark.e2e
def test_a_real_run_streams_into_the_page_and_destroy_cleans_up(browser: Any, companion: str, tmp_path: Path) -> None:
    from site_browser import open_page

    context, page = open_page(browser, companion)
    page.goto(f"{companion}/patterns/{SLUG}/")
    status = page.locator("[data-run-status]")
    output = page.locator("[data-run-output]")

    page.get_by_role("button", name="Run", exact=True).click()
    assert page.locator("[data-run-panel] progress").is_visible()  # progress while it runs
    assert "running" in status.inner_text()
    page.wait_for_function(
        "() => document.querySelector('[data-run-output]').textContent.split('\\n').length > 3", timeout=180_000
    )
    assert "lines" in status.inner_text()  # the status counts the streamed lines
    page.wait_for_function(
        "() => document.querySelector('[data-run-status]').dataset.state !== 'running'", timeout=240_000
    )
    page.locator("[data-run-panel]").screenshot(path=str(tmp_path / "run-panel-streamed.png"))
    assert status.get_attribute("data-state") == "ok", output.inner_text()[-2000:]
    assert f"$ patterns run {SLUG} --target sandbox" in output.inner_text()
    assert "finished" in status.inner_text()

    page.get_by_role("button", name="Destroy", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('[data-run-status]').dataset.state !== 'running'", timeout=240_000
    )
    assert status.get_attribute("data-state") == "ok", output.inner_text()[-2000:]
    context.close()
    assert page.outside_requests == [] and page.console_errors == []
