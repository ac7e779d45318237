"""What every deploy target offers the ``patterns`` command."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from awspatterns.catalog import Pattern
from awspatterns.targets.assembly import stacks_in_order

__all__ = [
    "Target",
    "assembly_accounts",
    "delete_function_log_groups",
    "load_client",
    "stack_function_names",
    "stack_outputs",
]

Progress = Callable[[str], None]


class Target(Protocol):
    """A place to deploy examples to."""

    name: str

    def session(self) -> Any:
        """A boto3 session for the target account."""

    def session_for(self, account: str) -> Any:
        """A boto3 session for another account of the target (the stacks of a multi-account example)."""

    def deploy(self, pattern: Pattern, assembly_dir: Path, progress: Progress) -> dict[str, dict[str, str]]:
        """Deploy a synthesized example; return outputs by stack."""

    def outputs(self, pattern: Pattern) -> dict[str, dict[str, str]] | None:
        """The outputs of each of the example's stacks, or ``None`` when any stack is not deployed."""

    def destroy(self, pattern: Pattern, assembly_dir: Path | None, progress: Progress) -> None:
        """Remove an example's stacks and what they created."""


def assembly_accounts(assembly_dir: Path | None) -> dict[str, str]:
    """Stack name -> account, for the stacks of a synthesized example that are for a given account (empty when
    the example has not been synthesized, or all its stacks are environment-agnostic)."""
    if assembly_dir is None or not (assembly_dir / "manifest.json").is_file():
        return {}
    return {s.name: s.account for s in stacks_in_order(assembly_dir) if s.account}


def stack_outputs(
    session: Any,
    pattern: Pattern,
    session_for: Callable[[str], Any] | None = None,
    accounts: dict[str, str] | None = None,
) -> dict[str, dict[str, str]] | None:
    """The outputs of each of the pattern's stacks, or ``None`` when any stack is not deployed. A stack named in
    ``accounts`` is read in that account, through ``session_for``."""
    outputs = {}
    for name in pattern.stacks:
        account = (accounts or {}).get(name)
        cloudformation = (session_for(account) if account and session_for else session).client("cloudformation")
        try:
            stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except cloudformation.exceptions.ClientError:
            return None
        live = [s for s in stacks if s["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}]
        if not live:
            return None
        outputs[name] = {o["OutputKey"]: o["OutputValue"] for o in live[0].get("Outputs", [])}
    return outputs


def stack_function_names(session: Any, stack_name: str) -> list[str]:
    """The names of the Lambda functions a deployed stack created."""
    resources = session.client("cloudformation").describe_stack_resources(StackName=stack_name)["StackResources"]
    return [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Lambda::Function"]


def delete_function_log_groups(session: Any, functions: list[str]) -> None:
    """Lambda creates ``/aws/lambda/<name>`` itself, outside any stack (for functions that name no log group),
    so deleting the stack leaves it behind; remove those of the given functions."""
    logs = session.client("logs")
    for function in functions:
        group = f"/aws/lambda/{function}"
        if any(g["logGroupName"] == group for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]):
            logs.delete_log_group(logGroupName=group)


def load_client(pattern: Pattern) -> ModuleType:
    """Import ``examples/<slug>/client.py`` under a name unique to the pattern."""
    name = f"awspatterns_examples.{pattern.slug.replace('-', '_')}.client"
    spec = importlib.util.spec_from_file_location(name, pattern.directory / "client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
