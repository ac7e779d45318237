"""The built site in headless Chromium (Debian's, driven by Playwright): pages render, tabs switch, the diagram
loads, search finds code identifiers, and nothing is fetched from outside."""

from __future__ import annotations

import re

from awspatterns import REPO_ROOT

# What the Checksum handler tab embeds, read from the file itself so the test follows the code.
CHECKSUM_SIGNATURE = re.search(
    r"^def process_record\([^)]*\)", (REPO_ROOT / "examples/s3-fanout/handlers/checksum/index.py").read_text(), re.M
)


def test_home_page_renders_the_catalog_without_outside_requests(page, base_url):
    page.goto(base_url + "/")
    assert "AWS Serverless Patterns" in page.title()
    page.get_by_role("link", name="S3 events fanned out through SNS").first.click()
    page.wait_for_url("**/patterns/s3-fanout/")


def test_diagram_loads_and_tabs_switch(page, base_url):
    page.goto(base_url + "/patterns/s3-fanout/")
    diagram = page.locator("img[src$='s3-fanout.svg']")
    diagram.scroll_into_view_if_needed()
    assert page.evaluate("img => img.complete && img.naturalWidth > 500", diagram.element_handle())
    page.get_by_text("Checksum handler", exact=True).click()
    assert CHECKSUM_SIGNATURE is not None
    assert page.get_by_text(CHECKSUM_SIGNATURE[0]).is_visible()
    assert not page.get_by_text("def index_object(notification").is_visible()


def test_search_finds_code_identifiers(page, base_url):
    hrefs = search(page, base_url, "batchItemFailures")
    assert any("patterns/s3-fanout/" in href for href in hrefs), hrefs


def test_dark_theme_keeps_the_diagram_on_its_white_card(page, base_url):
    page.emulate_media(color_scheme="dark")
    page.goto(base_url + "/patterns/s3-fanout/")
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
    svg = page.request.get(base_url + "/assets/diagrams/s3-fanout.svg").text()
    assert 'fill="white"' in svg


def search(page, base_url, text):
    """The hrefs Material's search lists for ``text``, typed as a user would."""
    page.goto(base_url + "/")
    query = page.locator("input[data-md-component='search-query']")
    query.click()
    query.press_sequentially(text, delay=20)  # fill() does not trigger Material's search
    results = page.locator(".md-search-result__link")
    results.first.wait_for(timeout=10_000)
    # The list first shows the results of what was typed so far ("batchItem"), and only its first ones until the
    # reader scrolls: scroll it, as a reader would, and read it once it stops changing.
    seen: list[str] = []
    for _ in range(50):
        page.locator(".md-search__scrollwrap").evaluate("wrap => wrap.scrollTo(0, wrap.scrollHeight)")
        hrefs = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
        if hrefs and hrefs == seen:
            return hrefs
        seen = hrefs
        page.wait_for_timeout(200)
    return seen


def test_search_finds_pattern_names_and_services(page, base_url):
    assert any("patterns/dead-letter-queue/" in href for href in search(page, base_url, "redrive"))
    assert any("patterns/" in href for href in search(page, base_url, "DynamoDB"))


def test_every_diagram_loads_in_the_dark_theme_on_its_white_card(dark_page, base_url):
    from awspatterns.catalog import load_catalog

    for pattern in load_catalog():
        dark_page.goto(f"{base_url}/patterns/{pattern.slug}/")
        diagram = dark_page.locator(f"img[src$='{pattern.slug}.svg']")
        diagram.scroll_into_view_if_needed()
        dark_page.wait_for_function("img => img.complete && img.naturalWidth > 300", arg=diagram.element_handle())
        svg = dark_page.request.get(f"{base_url}/assets/diagrams/{pattern.slug}.svg").text()
        assert 'fill="white"' in svg
