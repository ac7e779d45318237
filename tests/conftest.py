"""Shared fixtures: every example synthesized once per session (jsii starts once), with the cdk-nag gate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

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
