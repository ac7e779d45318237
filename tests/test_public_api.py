"""The library's public API: every module says what it exports, and what it says exists; no import circles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from awspatterns import REPO_ROOT

SOURCE = REPO_ROOT / "src"
MODULES = sorted(
    ".".join(path.relative_to(SOURCE).with_suffix("").parts).removesuffix(".__init__")
    for path in (SOURCE / "awspatterns").rglob("*.py")
    if path.name != "__main__.py"
)


def _defines_anything(module: str) -> bool:
    path = SOURCE / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(path.read_text())
    return any(isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)) for node in tree.body)


@pytest.mark.parametrize("name", [m for m in MODULES if _defines_anything(m)])
def test_every_module_declares_what_it_exports(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} declares no __all__"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def test_the_library_has_no_import_circles():
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        path = SOURCE / Path(*name.split("."))
        is_package = path.is_dir()
        path = path / "__init__.py" if is_package else path.with_suffix(".py")
        package = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        # a package's modules importing the package itself (or it re-exporting them) is not a circle of concern
        graph[name] = {t for t in targets if t in graph or t in MODULES} - {name}
        graph[name] = {t for t in graph[name] if not (t.startswith(name + ".") or name.startswith(t + "."))}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    circles = sorted(name for name in graph if reaches(name, name, set()))
    assert not circles, f"modules in an import circle: {circles}"


def test_every_module_has_a_reference_entry():
    pages = "\n".join(page.read_text() for page in (REPO_ROOT / "docs" / "reference").glob("*.md"))
    documented = {line.removeprefix("::: ").strip() for line in pages.splitlines() if line.startswith("::: ")}
    missing = [name for name in MODULES if _defines_anything(name) and name not in documented]
    assert not missing, f"modules without a `::: module` entry in docs/reference/: {missing}"
