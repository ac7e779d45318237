"""Diagrams as code, made deterministic and browser-safe.

The ``diagrams`` package draws with Graphviz, names nodes with random ids, and links icons by absolute file path
(invisible once served). This helper:

* numbers nodes in creation order, so the graph source is stable;
* captures the DOT source instead of calling a system ``dot`` (none on a fresh machine), with icon paths made
  relative to the package's resources, so the source is the same on every machine;
* renders with Graphviz compiled to WebAssembly (``@viz-js/viz``, run by Node, which the CDK needs anyway) and
  inlines each icon as a data URI;
* draws on an opaque white card with a border, readable in both the light and the dark theme.

``patterns diagrams --check`` compares the committed source (``<slug>.dot``) with a fresh one: no layout needed.
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import os
import re
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import diagrams
from awspatterns import REPO_ROOT
from awspatterns.catalog import Pattern
from awspatterns.errors import PatternsError

__all__ = [
    "GRAPH_ATTRS",
    "ICON_PREFIX",
    "RENDERER",
    "RESOURCES_DIR",
    "DiagramError",
    "check_diagrams",
    "diagram_nodes",
    "diagram_source",
    "pattern_diagram",
    "render_diagrams",
    "render_svg",
]

#: Where the ``diagrams`` package keeps its icons; DOT sources name icons relative to it.
RESOURCES_DIR = Path(diagrams.__file__).resolve().parent.parent / "resources"
ICON_PREFIX = "resources/"
RENDERER = Path(__file__).with_name("render_dot.mjs")

GRAPH_ATTRS = {
    "bgcolor": "white",  # an opaque card: transparent diagrams vanish on the dark theme
    "pad": "0.4",
    "fontsize": "20",
    "splines": "spline",
}


class DiagramError(PatternsError):
    """A diagram could not be built or rendered."""


class _SourceOnlyDiagram(diagrams.Diagram):  # type: ignore[misc]
    """A ``diagrams.Diagram`` that keeps its DOT source instead of running Graphviz."""

    def __exit__(self, *exc: object) -> None:
        diagrams.setdiagram(None)


@contextmanager
def pattern_diagram(title: str, direction: str = "LR") -> Iterator[diagrams.Diagram]:
    """Open a diagram whose nodes get sequential ids; use it exactly like ``diagrams.Diagram``."""
    counter = itertools.count(1)
    original = diagrams.Node._rand_id
    diagrams.Node._rand_id = staticmethod(lambda: f"n{next(counter)}")
    try:
        with _SourceOnlyDiagram(title, show=False, direction=direction, graph_attr=GRAPH_ATTRS) as diagram:
            yield diagram
    finally:
        diagrams.Node._rand_id = original


def diagram_source(pattern: Pattern) -> str:
    """Run ``diagrams/<slug>.py`` and return its normalised DOT source.

    The script must define ``draw()`` that builds the diagram inside :func:`pattern_diagram` and returns it.
    """
    script = pattern.diagram_source
    if not script.is_file():
        raise DiagramError(f"{pattern.slug}: no diagram script at {script.relative_to(REPO_ROOT)}")
    spec = importlib.util.spec_from_file_location(f"awspatterns_diagrams.{pattern.slug.replace('-', '_')}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = module.draw()
    source: str = drawn.dot.source
    return source.replace(f"{RESOURCES_DIR}{os.sep}", ICON_PREFIX)


def diagram_nodes(source: str) -> list[str]:
    """The icon of every node in a DOT source, e.g. ``resources/aws/storage/simple-storage-service-s3.png``."""
    return re.findall(r'image="(resources/[^"]+)"', source)


def render_svg(source: str) -> str:
    """Lay out ``source`` with Graphviz (WebAssembly) and return a self-contained SVG."""
    icons = sorted(set(diagram_nodes(source)))
    images = [{"name": icon, **_png_size(_icon_path(icon))} for icon in icons]
    try:
        result = subprocess.run(
            ["node", str(RENDERER), json.dumps(images)],
            input=source.encode(),
            capture_output=True,
            check=True,
            cwd=REPO_ROOT,
            timeout=120,
        )
    except FileNotFoundError as error:
        raise DiagramError("rendering needs Node.js on PATH") from error
    except subprocess.CalledProcessError as error:
        raise DiagramError(
            f"Graphviz (WebAssembly) failed: {error.stderr.decode()[-2000:]}; run `npm ci` in the repository root"
        ) from error
    svg = result.stdout.decode()
    for icon in icons:
        data = base64.b64encode(_icon_path(icon).read_bytes()).decode()
        svg = svg.replace(f'"{icon}"', f'"data:image/png;base64,{data}"')
    return svg


def render_diagrams(patterns: list[Pattern]) -> list[Path]:
    """Write ``<slug>.dot`` and ``<slug>.svg`` for each pattern; return the paths written."""
    written = []
    for pattern in patterns:
        source = diagram_source(pattern)
        pattern.diagram.parent.mkdir(parents=True, exist_ok=True)
        pattern.diagram.with_suffix(".dot").write_text(source)
        pattern.diagram.write_text(render_svg(source))
        written += [pattern.diagram.with_suffix(".dot"), pattern.diagram]
    return written


def check_diagrams(patterns: list[Pattern]) -> list[str]:
    """The slugs whose committed diagram is missing or no longer matches its script."""
    stale = []
    for pattern in patterns:
        committed = pattern.diagram.with_suffix(".dot")
        if not pattern.diagram.is_file() or not committed.is_file() or committed.read_text() != diagram_source(pattern):
            stale.append(pattern.slug)
    return stale


def _icon_path(icon: str) -> Path:
    return RESOURCES_DIR / icon.removeprefix(ICON_PREFIX)


def _png_size(path: Path) -> dict[str, Any]:
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise DiagramError(f"icon {path} is not a PNG")
    width, height = struct.unpack(">II", header[16:24])
    return {"width": f"{width}px", "height": f"{height}px"}
