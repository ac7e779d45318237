"""Diagrams: current, deterministic, self-contained, and drawing exactly the services the template uses."""

from __future__ import annotations

from importlib.metadata import version

import diagrams
from awspatterns import catalog
from awspatterns.diagram import check_diagrams, diagram_nodes, diagram_source, render_svg
from awspatterns.services import service_of_icon, services_in_template


def test_diagrams_package_is_the_pinned_version_and_still_has_random_ids():
    # The helper replaces Node._rand_id to get stable ids; a moved pin must be looked at.
    assert version("diagrams") == "0.25.1"
    assert callable(diagrams.Node._rand_id)


def test_committed_diagrams_are_current():
    assert check_diagrams(catalog.load_catalog()) == []


def test_source_is_deterministic_and_machine_independent(pattern):
    first, second = diagram_source(pattern), diagram_source(pattern)
    assert first == second
    assert "n1 [" in first
    assert "site-packages" not in first and 'image="/' not in first


def test_committed_svg_is_the_render_of_the_committed_source(pattern):
    svg = render_svg(pattern.diagram.with_suffix(".dot").read_text())
    assert svg == pattern.diagram.read_text()
    assert "data:image/png;base64," in svg
    assert 'href="resources/' not in svg and "site-packages" not in svg
    assert 'fill="white"' in svg  # an opaque card that stays readable on the dark theme


def test_diagram_draws_the_services_of_the_template_and_the_catalog(pattern, assemblies):
    drawn = {s for s in map(service_of_icon, diagram_nodes(diagram_source(pattern))) if s}
    synthesized = set().union(*(services_in_template(t) for t in assemblies[pattern.slug].templates.values()))
    assert drawn == synthesized, f"diagram draws {sorted(drawn)}, template has {sorted(synthesized)}"
    assert set(pattern.services) == synthesized


def test_check_reports_a_stale_diagram(pattern, tmp_path, monkeypatch):
    stale_dot = tmp_path / f"{pattern.slug}.dot"
    stale_dot.write_text(pattern.diagram.with_suffix(".dot").read_text().replace("n1 [", "n99 ["))
    (tmp_path / f"{pattern.slug}.svg").write_text("<svg/>")
    monkeypatch.setattr(catalog.Pattern, "diagram", property(lambda p: tmp_path / f"{p.slug}.svg"))
    assert check_diagrams([pattern]) == [pattern.slug]
