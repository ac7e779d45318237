"""What every deploy target offers the ``patterns`` command."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from awspatterns.catalog import Pattern

Progress = Callable[[str], None]


class Target(Protocol):
    """A place to deploy examples to."""

    name: str

    def session(self) -> Any:
        """A boto3 session for the target account."""

    def deploy(self, pattern: Pattern, assembly_dir: Path, progress: Progress) -> dict[str, dict[str, str]]:
        """Deploy a synthesized example; return outputs by stack."""

    def destroy(self, pattern: Pattern, assembly_dir: Path | None, progress: Progress) -> None:
        """Remove an example's stacks and what they created."""


def stack_outputs(session: Any, pattern: Pattern) -> dict[str, dict[str, str]] | None:
    """The outputs of each of the pattern's stacks, or ``None`` when any stack is not deployed."""
    cloudformation = session.client("cloudformation")
    outputs = {}
    for name in pattern.stacks:
        try:
            stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except cloudformation.exceptions.ClientError:
            return None
        live = [s for s in stacks if s["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}]
        if not live:
            return None
        outputs[name] = {o["OutputKey"]: o["OutputValue"] for o in live[0].get("Outputs", [])}
    return outputs


def load_client(pattern: Pattern) -> ModuleType:
    """Import ``examples/<slug>/client.py`` under a name unique to the pattern."""
    name = f"awspatterns_examples.{pattern.slug.replace('-', '_')}.client"
    spec = importlib.util.spec_from_file_location(name, pattern.directory / "client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
