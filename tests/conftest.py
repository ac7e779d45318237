"""Shared fixtures: every example synthesized once per session (jsii starts once), with the cdk-nag gate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from awspatterns import REPO_ROOT
from awspatterns.catalog import Pattern, load_catalog
from awspatterns.synth import Assembly, synth

CATALOG = load_catalog()


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assembly]:
    """Every example synthesized (nag gate included) into a session temp dir, by slug."""
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    return {pattern.slug: synth(pattern, outdir) for pattern in CATALOG}


@pytest.fixture(params=CATALOG, ids=lambda p: p.slug)
def pattern(request: pytest.FixtureRequest) -> Pattern:
    """Each pattern of the catalog in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once with ``mkdocs build --strict`` (never -q or -v: they weaken strict mode)."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    return out
