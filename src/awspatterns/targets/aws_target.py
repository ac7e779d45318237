"""The ``aws`` target: a real AWS account, through the AWS CDK CLI pinned in package.json.

It uses the caller's usual credentials and region, from the process environment or from an environment given to
the target. With ``AWS_ENDPOINT_URL`` set, the same commands run against any compatible endpoint: CI points it at
the sandbox, so the path users type is tested.

A multi-account example's stacks name their accounts (``env``); ``cdk deploy`` deploys each into its account through
that account's bootstrap roles (``cdk bootstrap --trust``). To read the outputs of stacks in other accounts, the
target uses the AWS profile ``AWSPATTERNS_PROFILES`` names for each (``111111111111=source-a,...``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from awspatterns import ASSEMBLIES_DIR, REPO_ROOT
from awspatterns.catalog import Pattern
from awspatterns.errors import PatternsError
from awspatterns.sandbox import control
from awspatterns.sessions import EndpointSession
from awspatterns.targets.base import (
    Progress,
    assembly_accounts,
    delete_function_log_groups,
    stack_function_names,
    stack_outputs,
)

__all__ = ["BOOTSTRAP_VERSION_PARAMETER", "AwsTarget", "cdk_available"]

CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"

#: The SSM parameter ``cdk bootstrap`` writes with the default qualifier; deployments check it.
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


class AwsTarget:
    """Deploys with ``cdk deploy --app <cloud assembly>``, bootstrapping the account first when it needs it."""

    name = "aws"

    def __init__(self, environment: Mapping[str, str] | None = None) -> None:
        """``environment`` holds the ``AWS_*`` settings (credentials, region, profile, ``AWS_ENDPOINT_URL``) for both
        the boto3 session and the CDK CLI; by default, the process environment."""
        self.environment = dict(os.environ if environment is None else environment)

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint every call goes to, or ``None`` for AWS's own."""
        return self.environment.get("AWS_ENDPOINT_URL")

    def session(self) -> Any:
        """A boto3 session from the target's environment (unset values fall back to boto3's usual chain)."""
        env = self.environment
        return EndpointSession(
            self.endpoint_url,
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
            region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            profile_name=env.get("AWS_PROFILE"),
        )

    def session_for(self, account: str) -> Any:
        """A session for another account: the profile ``AWSPATTERNS_PROFILES`` names for it, else the target's own
        credentials (which must then reach that account)."""
        profiles = dict(
            item.split("=", 1) for item in self.environment.get("AWSPATTERNS_PROFILES", "").split(",") if "=" in item
        )
        if account not in profiles:
            return self.session()
        env = self.environment
        return EndpointSession(
            self.endpoint_url,
            profile_name=profiles[account],
            region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        )

    def cdk(self, *args: str, progress: Progress) -> None:
        """Run the pinned CDK CLI; its output goes straight to the terminal."""
        if not cdk_available():
            raise PatternsError("the AWS CDK CLI is not installed; run `npm ci` in the repository root")
        progress(f"  $ cdk {' '.join(args)}")
        env = {
            **self.environment,
            "CDK_DISABLE_VERSION_CHECK": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
        result = subprocess.run([str(CDK), *args, "--no-notices"], cwd=REPO_ROOT, env=env, check=False)
        if result.returncode != 0:
            raise PatternsError(f"`cdk {args[0]}` failed with status {result.returncode} (its output is above)")

    def ensure_bootstrapped(self, assembly_dir: Path, progress: Progress) -> None:
        """Run ``cdk bootstrap`` for the assembly's environment unless it already has the CDK toolkit stack."""
        ssm = self.session().client("ssm")
        try:
            ssm.get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)
            return
        except ssm.exceptions.ParameterNotFound:
            progress("  this account and region are not bootstrapped for the CDK yet")
        self.cdk("bootstrap", "--app", str(assembly_dir), progress=progress)

    def deploy(self, pattern: Pattern, assembly_dir: Path, progress: Progress) -> dict[str, dict[str, str]]:
        """``cdk deploy`` every stack of the example's cloud assembly."""
        self.ensure_bootstrapped(assembly_dir, progress)
        self.cdk("deploy", "--app", str(assembly_dir), "--all", "--require-approval", "never", progress=progress)
        outputs = self.outputs(pattern)
        if outputs is None:
            raise PatternsError(f"`cdk deploy` finished but not every stack of {pattern.slug} is deployed")
        return outputs

    def outputs(self, pattern: Pattern) -> dict[str, dict[str, str]] | None:
        """The deployed stacks' outputs; ``None`` when not every stack is deployed. Pointed at the local sandbox
        (``AWS_ENDPOINT_URL``), API URLs are made local, as the sandbox target does."""
        accounts = assembly_accounts(ASSEMBLIES_DIR / pattern.slug)
        outputs = stack_outputs(self.session(), pattern, self.session_for, accounts)
        sandbox = control.status()
        if outputs is not None and sandbox is not None and self.endpoint_url == sandbox.endpoint_url:
            return sandbox.local_outputs(outputs)
        return outputs

    def destroy(self, pattern: Pattern, assembly_dir: Path | None, progress: Progress) -> None:
        """``cdk destroy`` every stack of the example, then the log groups Lambda created outside them."""
        accounts = assembly_accounts(assembly_dir)
        sessions = {
            name: self.session_for(accounts[name]) if name in accounts else self.session() for name in pattern.stacks
        }
        functions = {name: _function_names_if_deployed(session, name) for name, session in sessions.items()}
        app = str(assembly_dir) if assembly_dir else str(pattern.directory)
        self.cdk("destroy", "--app", app, "--all", "--force", progress=progress)
        for name, session in sessions.items():
            delete_function_log_groups(session, functions[name])


def _function_names_if_deployed(session: Any, stack_name: str) -> list[str]:
    try:
        return stack_function_names(session, stack_name)
    except session.client("cloudformation").exceptions.ClientError:
        return []


def cdk_available() -> bool:
    """Whether ``npm ci`` installed the pinned CDK CLI and Node.js is on PATH."""
    return CDK.exists() and shutil.which("node") is not None
