"""The ``sandbox`` target: the local sandbox account, deployed with the assembly deployer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from awspatterns.catalog import Pattern
from awspatterns.sandbox import control
from awspatterns.targets import assembly_deployer
from awspatterns.targets.assembly import stacks_in_order
from awspatterns.targets.base import Progress, stack_outputs

__all__ = ["SandboxTarget", "answering"]


class SandboxTarget:
    """Deploys into the running sandbox (started on demand)."""

    name = "sandbox"

    def __init__(self, state_dir: Path | None = None, account: str = "main", autostart: bool = True) -> None:
        self.state_dir = state_dir
        self.account = account
        self.autostart = autostart

    def info(self) -> control.SandboxInfo:
        """The running sandbox, started first if needed (and allowed)."""
        if self.autostart:
            return control.start(self.state_dir)
        return control.require(self.state_dir)

    def session(self) -> Any:
        """A session for the target account of the sandbox."""
        return self.info().session(self.account)

    def deploy(self, pattern: Pattern, assembly_dir: Path, progress: Progress) -> dict[str, dict[str, str]]:
        """Publish assets and create the stacks; API URLs in the outputs point at the local gateway."""
        info = self.info()
        with answering(info):
            outputs = assembly_deployer.deploy_assembly(info.session(self.account), assembly_dir, progress)
        return info.local_outputs(outputs)

    def outputs(self, pattern: Pattern) -> dict[str, dict[str, str]] | None:
        """The deployed stacks' outputs, API URLs made local; ``None`` when not every stack is deployed."""
        info = self.info()
        with answering(info):
            outputs = stack_outputs(info.session(self.account), pattern)
        return None if outputs is None else info.local_outputs(outputs)

    def destroy(self, pattern: Pattern, assembly_dir: Path | None, progress: Progress) -> None:
        """Delete the stacks (dependents first) and their functions' log groups."""
        names = [s.name for s in stacks_in_order(assembly_dir)] if assembly_dir else list(pattern.stacks)
        info = self.info()
        with answering(info):
            assembly_deployer.destroy_stacks(info.session(self.account), names, progress)


@contextlib.contextmanager
def answering(info: control.SandboxInfo) -> Iterator[None]:
    """Turn a lost connection to the sandbox into an error that says so and where its log is."""
    try:
        yield
    except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) as error:
        raise control.SandboxError(
            f"the sandbox stopped answering at {info.endpoint_url} ({type(error).__name__}); see {info.log_file}"
        ) from error
