"""Shared fixtures: every example synthesized once per session (jsii starts once), with the cdk-nag gate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from awspatterns import REPO_ROOT
from awspatterns.catalog import Pattern, load_catalog
from awspatterns.synth import Assembly, synth
from awspatterns.verification import VERIFIED_DIR

CATALOG = load_catalog()

#: Tests that share one directory of the repository while they run: they drive `patterns run s3-fanout`, which
#: synthesizes into the repository's `cdk.out/s3-fanout` (and the aws-target test deletes it on purpose).
SHARED_ASSEMBLIES = (
    "tests/e2e/test_cli_e2e.py::test_start_run_destroy_stop",
    "tests/e2e/test_cli_e2e.py::test_aws_target_deploys_through_the_real_cdk_cli",
    "tests/browser/test_run_panel.py",
)
#: Files whose tests share nothing but the session's fixtures: each test may run on any worker (each of these
#: files runs the real CDK CLI, or whole sandboxes, for a minute or more in all).
INDEPENDENT_TESTS = ("tests/test_cdk_context.py", "tests/e2e/test_cli_e2e.py")
#: Where the long files are (deployments, the real CDK CLI, sandbox starts, a browser): handed out first, so that
#: no worker starts one while the other has nothing left to do. Only the wall time depends on this list.
LONG_FIRST = (
    "tests/e2e/",
    "tests/browser/",
    "tests/test_bench",
    "tests/test_cdk_context.py",
    "tests/sandbox/test_lifecycle",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist (``make test``), each test file runs on one worker, as with ``--dist loadfile``: a
    pattern's end-to-end tests update that pattern's records in ``docs/`` one after the other, and module fixtures
    are built once. Tests that share a directory of the repository run on the same worker, one after the other."""
    from xdist.scheduler import LoadFileScheduling

    class ByFile(LoadFileScheduling):  # type: ignore[misc]
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(SHARED_ASSEMBLIES):
                return "cdk.out"
            module = str(super()._split_scope(nodeid))
            return nodeid if module in INDEPENDENT_TESTS else module

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:  # the queue is complete by the first assignment; sorted() keeps its order otherwise
                scopes = sorted(self.workqueue.items(), key=lambda item: not _long(item[0]))
                self.workqueue.clear()
                self.workqueue.update(scopes)
                self.ordered = True
            super()._assign_work_unit(node)

    return None if config.getoption("dist") == "each" else ByFile(config, log)


def _long(scope: str) -> bool:
    return scope == "cdk.out" or scope.startswith(LONG_FIRST)


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assembly]:
    """Every example synthesized (nag gate included) into a session temp dir, by slug."""
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    return {pattern.slug: synth(pattern, outdir) for pattern in CATALOG}


@pytest.fixture(params=CATALOG, ids=lambda p: p.slug)
def pattern(request: pytest.FixtureRequest) -> Pattern:
    """Each pattern of the catalog in turn."""
    return request.param  # type: ignore[no-any-return]


def _records() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(VERIFIED_DIR.glob("*.json"))}


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once with ``mkdocs build --strict`` (never -q or -v: they weaken strict mode). The
    verification records it was built from are kept beside it, in ``verified/`` (see ``site_records``): under
    pytest-xdist an end-to-end test on another worker may record a run while the site builds, and then it is built
    again, so the copy is exactly what the pages show."""
    root = tmp_path_factory.mktemp("site")
    out, kept = root / "site", root / "verified"
    for _ in range(3):
        before = _records()
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
        if _records() == before:
            break
    kept.mkdir()
    for name, content in before.items():
        (kept / name).write_bytes(content)
    return out


@pytest.fixture(scope="session")
def site_records(site: Path) -> Path:
    """The folder of the verification records the built ``site`` shows."""
    return site.parent / "verified"
