"""`patterns new SLUG` creates every file a pattern needs, from one template, and the layout test passes on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from awspatterns import REPO_ROOT
from awspatterns.scaffold import ScaffoldError, scaffold, template_values


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout's files (tracked and new, not ignored), sharing node_modules."""
    root = tmp_path_factory.mktemp("checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = REPO_ROOT / name
        if source.is_file() and not name.startswith("node_modules/"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(source.read_bytes())
    (root / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    return root


def in_checkout(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python in the copy, importing awspatterns from the copy's sources (so REPO_ROOT is the copy)."""
    env = {**os.environ, "PYTHONPATH": str(checkout / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *args], cwd=checkout, env=env, capture_output=True, text=True)


def test_the_layout_test_passes_on_a_scaffolded_pattern(checkout: Path) -> None:
    created = in_checkout(checkout, "-m", "awspatterns.cli", "new", "demo-queue-worker")
    assert created.returncode == 0, created.stderr
    assert (checkout / "docs" / "assets" / "diagrams" / "demo-queue-worker.svg").is_file()

    listed = in_checkout(checkout, "-m", "awspatterns.cli", "list", "--json")
    assert "demo-queue-worker" in [p["slug"] for p in json.loads(listed.stdout)]

    layout = in_checkout(checkout, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "tests/test_layout.py")
    assert layout.returncode == 0, layout.stdout[-3000:]
    assert "test_every_pattern_has_every_part[demo-queue-worker]" in layout.stdout

    again = in_checkout(checkout, "-m", "awspatterns.cli", "new", "demo-queue-worker")
    assert again.returncode == 2 and "exists already" in again.stderr


def test_cdk_json_carries_the_flags_every_example_has(tmp_path: Path) -> None:
    scaffold("demo", root=tmp_path)
    written = json.loads((tmp_path / "examples" / "demo" / "cdk.json").read_text())
    assert written == json.loads((REPO_ROOT / "examples" / "s3-fanout" / "cdk.json").read_text())


@pytest.mark.parametrize("slug", ["Demo", "demo_queue", "-demo", "demo--queue", "../demo", "demo queue", ""])
def test_an_invalid_slug_is_refused_with_an_example(tmp_path: Path, slug: str) -> None:
    with pytest.raises(ScaffoldError, match="not a slug"):
        scaffold(slug, root=tmp_path)
    assert not any(tmp_path.iterdir())


def test_placeholders_become_names_the_catalog_uses() -> None:
    assert template_values("s3-object-index") == {
        "slug": "s3-object-index",
        "module": "s3_object_index",
        "title": "S3 object index",
        "construct": "S3ObjectIndex",
        "stack": "S3ObjectIndex",
    }
