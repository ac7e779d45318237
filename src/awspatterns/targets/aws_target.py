"""The ``aws`` target: a real AWS account, through the AWS CDK CLI pinned in package.json.

It uses the caller's usual credentials and region. With ``AWS_ENDPOINT_URL`` set, the same commands run against
any compatible endpoint (CI points it at the sandbox to test this path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3

from awspatterns import REPO_ROOT
from awspatterns.catalog import Pattern
from awspatterns.errors import PatternsError
from awspatterns.targets.base import Progress, stack_outputs


class AwsTarget:
    """Deploys with ``cdk deploy --app <cloud assembly>``."""

    name = "aws"

    def session(self) -> Any:
        """The caller's default boto3 session."""
        return boto3.Session()

    def cdk(self, *args: str, progress: Progress) -> None:
        """Run the pinned CDK CLI."""
        executable = REPO_ROOT / "node_modules" / ".bin" / "cdk"
        if not executable.exists():
            raise PatternsError("the AWS CDK CLI is not installed; run `npm ci` in the repository root")
        progress(f"  $ cdk {' '.join(args)}")
        env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        result = subprocess.run([str(executable), *args], cwd=REPO_ROOT, env=env, check=False)
        if result.returncode != 0:
            raise PatternsError(f"`cdk {args[0]}` failed with status {result.returncode} (its output is above)")

    def bootstrap(self, progress: Progress) -> None:
        """``cdk bootstrap`` the current account and region."""
        self.cdk("bootstrap", "--no-notices", progress=progress)

    def deploy(self, pattern: Pattern, assembly_dir: Path, progress: Progress) -> dict[str, dict[str, str]]:
        """``cdk deploy`` every stack of the example's cloud assembly."""
        self.cdk(
            "deploy",
            "--app",
            str(assembly_dir),
            "--all",
            "--require-approval",
            "never",
            "--no-notices",
            progress=progress,
        )
        return stack_outputs(self.session(), pattern) or {}

    def destroy(self, pattern: Pattern, assembly_dir: Path | None, progress: Progress) -> None:
        """``cdk destroy`` every stack of the example."""
        app = str(assembly_dir) if assembly_dir else str(pattern.directory)
        self.cdk("destroy", "--app", app, "--all", "--force", "--no-notices", progress=progress)


def cdk_available() -> bool:
    """Whether ``npm ci`` installed the pinned CDK CLI and Node.js is on PATH."""
    return (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists() and shutil.which("node") is not None
