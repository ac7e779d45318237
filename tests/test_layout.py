"""One pattern looks like every other: the same files, the same test layers, snippets that resolve and are used."""

from __future__ import annotations

from pathlib import Path

import pytest

from awspatterns import REPO_ROOT
from awspatterns.catalog import load_catalog
from awspatterns.snippets import SnippetError, references_by_file, sections

PAGES = sorted((REPO_ROOT / "docs").rglob("*.md"))
SOURCES = [
    p
    for d in ("examples", "src", "tests", "diagrams")
    for p in (REPO_ROOT / d).rglob("*.py")
    if "cdk.out" not in p.parts  # what `cdk synth` in an example folder leaves is build output, not source
]


def module_name(slug: str) -> str:
    return slug.replace("-", "_")


def test_every_pattern_has_every_part(pattern):
    directory = pattern.directory
    required = [
        directory / "app.py",
        directory / "cdk.json",
        directory / "stack.py",
        directory / "client.py",
        pattern.page,
        pattern.diagram_source,
        pattern.diagram,
        pattern.diagram.with_suffix(".dot"),
        REPO_ROOT / "tests" / "examples" / f"test_{module_name(pattern.slug)}.py",
        REPO_ROOT / "tests" / "e2e" / f"test_{module_name(pattern.slug)}_e2e.py",
    ]
    missing = [str(p.relative_to(REPO_ROOT)) for p in required if not p.is_file()]
    assert not missing, f"{pattern.slug} misses {missing}"
    assert list(directory.glob("handlers/*/index.py")), f"{pattern.slug} has no handlers/<function>/index.py"
    client = (directory / "client.py").read_text()
    assert "def run(" in client and "def format_report(" in client


def test_every_pattern_has_every_test_layer(pattern):
    unit = (REPO_ROOT / "tests" / "examples" / f"test_{module_name(pattern.slug)}.py").read_text()
    assert "Template.from_json" in unit, "template assertions"
    assert "handler_loader" in unit, "handler unit tests"
    assert "malformed" in unit.lower(), "a bad-input suite"
    e2e = (REPO_ROOT / "tests" / "e2e" / f"test_{module_name(pattern.slug)}_e2e.py").read_text()
    assert "deploy_pattern(" in e2e and "destroy() == {}" in e2e, "an end-to-end test that checks nothing is left"


def test_every_pattern_page_belongs_to_a_pattern():
    slugs = {p.slug for p in load_catalog()}
    pages = {p.stem for p in (REPO_ROOT / "docs" / "patterns").glob("*.md")} - {"index"}
    assert pages == slugs


def test_pattern_pages_embed_their_example_files():
    used = references_by_file(PAGES)
    for pattern in load_catalog():
        embedded = {f for f in used if f.startswith(f"examples/{pattern.slug}/")}
        expected = {f"examples/{pattern.slug}/stack.py", f"examples/{pattern.slug}/client.py"}
        assert expected <= embedded, f"{pattern.slug}'s page does not embed {expected - embedded}"
        assert any("/handlers/" in f for f in embedded), f"{pattern.slug}'s page embeds no handler"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_snippet_markers_are_balanced(path):
    sections(path)


def test_every_snippet_reference_resolves_and_every_section_is_used():
    used = references_by_file(PAGES)
    for file, wanted in used.items():
        path = REPO_ROOT / file
        assert path.is_file(), f"a page embeds {file}, which does not exist"
        assert {s for s in wanted if s} <= sections(path), f"{file}: missing sections {wanted - sections(path)}"
    for path in SOURCES:
        defined = sections(path)
        relative = str(path.relative_to(REPO_ROOT))
        unused = defined - used.get(relative, set())
        assert not unused, f"{relative} defines snippet sections no page uses: {sorted(unused)}"


def test_unbalanced_markers_are_reported(tmp_path: Path):
    path = tmp_path / "x.py"
    path.write_text("# --8<-- [start:a]\n")
    with pytest.raises(SnippetError, match="never ended"):
        sections(path)
    path.write_text("# --8<-- [end:a]\n")
    with pytest.raises(SnippetError, match="never started"):
        sections(path)


@pytest.mark.parametrize("pattern", load_catalog(), ids=lambda p: p.slug)
def test_every_page_shows_its_permissions_granted_and_used(pattern):
    """The end-to-end run writes the table (DeployedPattern.record_permissions); the page embeds it."""
    page = (REPO_ROOT / "docs" / "patterns" / f"{pattern.slug}.md").read_text()
    assert f'--8<-- "docs/permissions/{pattern.slug}.md"' in page
    assert (REPO_ROOT / "docs" / "permissions" / f"{pattern.slug}.md").is_file()
    e2e = (REPO_ROOT / "tests" / "e2e" / f"test_{pattern.slug.replace('-', '_')}_e2e.py").read_text()
    assert "record_permissions()" in e2e
