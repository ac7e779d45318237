"""The home page's catalog: a card per pattern, grouped; filters narrow the cards without a reload and keep their
state in the URL."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlparse

from awspatterns.catalog import GROUPS, load_catalog

CATALOG = load_catalog()


def visible_slugs(page: Any) -> set[str]:
    return set(page.eval_on_selector_all(".catalog-card:not([hidden])", "cards => cards.map(c => c.dataset.slug)"))


def discriminating(values: Counter[str]) -> str:
    """A filter value that some patterns have and others do not (the most common such one)."""
    return next(value for value, count in values.most_common() if count < len(CATALOG))


def test_every_pattern_has_a_card_in_its_group_with_a_loaded_thumbnail(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    for pattern in CATALOG:
        card = page.locator(f".catalog-group[data-group='{pattern.group}'] .catalog-card[data-slug='{pattern.slug}']")
        assert card.count() == 1, pattern.slug
        assert GROUPS[pattern.group] in page.locator(f"#group-{pattern.group}").inner_text()
        thumb = card.locator("img")
        thumb.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=thumb.element_handle())
        assert card.get_by_role("link", name=pattern.title).get_attribute("href") == f"patterns/{pattern.slug}/"
        for service in pattern.services:
            assert service in card.locator(".catalog-card__services").inner_text()
        assert pattern.level in card.inner_text().lower()


def test_filters_narrow_the_cards_and_live_in_the_url(page: Any, base_url: str) -> None:
    service = discriminating(Counter(s for p in CATALOG for s in p.services))
    expected = {p.slug for p in CATALOG if service in p.services}
    page.goto(base_url + "/")
    page.get_by_label("AWS service").select_option(service)
    assert visible_slugs(page) == expected
    assert parse_qs(urlparse(page.url).query) == {"service": [service]}
    assert page.locator("[data-catalog-count]").inner_text() == f"{len(expected)} of {len(CATALOG)} patterns"

    level = CATALOG[0].level
    page.get_by_label("Level").select_option(level)
    both = {p.slug for p in CATALOG if service in p.services and p.level == level}
    assert visible_slugs(page) == both
    assert parse_qs(urlparse(page.url).query) == {"service": [service], "level": [level]}

    # The URL alone restores the view (a bookmark, a shared link, a reload).
    page.goto(page.url)
    assert page.get_by_label("AWS service").input_value() == service
    assert page.get_by_label("Level").input_value() == level
    assert visible_slugs(page) == both

    page.get_by_role("button", name="Clear filters").click()
    page.wait_for_function("() => !location.search")
    assert visible_slugs(page) == {p.slug for p in CATALOG}


def test_a_tag_in_the_url_filters_on_arrival_and_hides_empty_groups(page: Any, base_url: str) -> None:
    tag = discriminating(Counter(t for p in CATALOG for t in p.tags))
    expected = [p for p in CATALOG if tag in p.tags]
    page.goto(f"{base_url}/?tag={tag}")
    assert page.get_by_label("Tag").input_value() == tag
    assert visible_slugs(page) == {p.slug for p in expected}
    shown_groups = page.eval_on_selector_all(".catalog-group:not([hidden])", "gs => gs.map(g => g.dataset.group)")
    assert set(shown_groups) == {p.group for p in expected}


def test_an_unknown_filter_value_shows_everything(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/?service=NoSuchService")
    assert page.get_by_label("AWS service").input_value() == ""
    assert visible_slugs(page) == {p.slug for p in CATALOG}
