"""A link check of the whole built site: every internal link, image, script and stylesheet resolves, and every
anchor exists on its target page (mkdocs' own validation does not look into raw HTML such as the catalog's)."""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class Links(HTMLParser):
    """The ids and the outgoing references of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name"):
            if values.get(name):
                self.ids.add(str(values[name]))
        for name in ("href", "src"):
            if (value := values.get(name)) and tag != "form":
                self.refs.append(value)


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def target_file(site: Path, page: Path, path: str) -> Path:
    base = "/" + page.parent.relative_to(site).as_posix() + "/"
    resolved = posixpath.normpath(posixpath.join(base, unquote(path))) if not path.startswith("/") else path
    candidate = site / resolved.lstrip("/")
    return candidate / "index.html" if path.endswith("/") or candidate.is_dir() else candidate


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    pages = {page: parse(page) for page in site.rglob("*.html")}
    broken = []
    checked = 0
    for page, links in pages.items():
        for ref in links.refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("mailto:", "data:", "javascript:")):
                continue
            checked += 1
            target = target_file(site, page, parts.path) if parts.path else page
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {ref} (no {target.relative_to(site)})")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {ref} (no #{parts.fragment})")
    assert checked > 500
    assert broken == []


def test_the_link_check_finds_a_broken_link_and_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text('<a href="a/">ok</a><a href="b/">gone</a><a href="a/#nope">anchor</a>')
    (tmp_path / "a" / "index.html").write_text('<h2 id="yes">Yes</h2>' + '<a href="../#">top</a>' * 600)
    try:
        test_every_internal_link_and_anchor_resolves(tmp_path)
    except AssertionError as error:
        assert "b/" in str(error) and "#nope" in str(error)
    else:
        raise AssertionError("the link check passed a site with a broken link")
