"""Reading a CDK cloud assembly: stacks in dependency order, the account each is for, and their file assets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["StackArtifact", "stack_account", "stacks_in_order"]


@dataclass(frozen=True)
class StackArtifact:
    """One stack of a cloud assembly."""

    name: str
    template_file: Path
    assets_file: Path | None
    dependencies: tuple[str, ...]
    #: The account the stack is for (its ``env``), or ``None`` for an environment-agnostic stack, which deploys
    #: into whichever account the deployment uses.
    account: str | None = None

    @property
    def template(self) -> dict[str, Any]:
        """The synthesized template."""
        return json.loads(self.template_file.read_text())  # type: ignore[no-any-return]


def stacks_in_order(directory: Path) -> list[StackArtifact]:
    """The assembly's stacks, each after the stacks it depends on."""
    artifacts = json.loads((directory / "manifest.json").read_text())["artifacts"]
    stacks = {}
    for name, artifact in artifacts.items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        assets = [
            d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == "cdk:asset-manifest"
        ]
        stacks[name] = StackArtifact(
            name=artifact.get("displayName", name),
            template_file=directory / artifact["properties"]["templateFile"],
            assets_file=directory / artifacts[assets[0]]["properties"]["file"] if assets else None,
            dependencies=tuple(
                d
                for d in artifact.get("dependencies", [])
                if d in artifacts and artifacts[d]["type"] == "aws:cloudformation:stack"
            ),
            account=stack_account(artifact.get("environment", "")),
        )
    ordered: list[StackArtifact] = []

    def visit(name: str) -> None:
        if stacks[name] in ordered:
            return
        for dependency in stacks[name].dependencies:
            visit(dependency)
        ordered.append(stacks[name])

    for name in stacks:
        visit(name)
    return ordered


def stack_account(environment: str) -> str | None:
    """The account of a stack's ``aws://ACCOUNT/REGION`` environment; ``None`` when it names none."""
    account = environment.removeprefix("aws://").split("/", 1)[0]
    return account if account.isdigit() else None
