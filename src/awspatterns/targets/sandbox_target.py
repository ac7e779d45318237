"""The ``sandbox`` target: the local sandbox account, deployed with the assembly deployer.

An example whose stacks are for given accounts (a multi-account example) deploys each stack into that account of
the sandbox; the others go to the target's account.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from awspatterns import ASSEMBLIES_DIR
from awspatterns.catalog import Pattern
from awspatterns.sandbox import control
from awspatterns.targets import assembly_deployer
from awspatterns.targets.base import Progress, assembly_accounts, stack_outputs

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

    def session_for(self, account: str) -> Any:
        """A session for another account of the sandbox (by name or id)."""
        return self.info().session(account)

    def deploy(self, pattern: Pattern, assembly_dir: Path, progress: Progress) -> dict[str, dict[str, str]]:
        """Publish assets and create the stacks; API URLs in the outputs point at the local gateway."""
        info = self.info()
        with answering(info):
            outputs = assembly_deployer.deploy_assembly(
                info.session(self.account), assembly_dir, progress, session_for=info.session
            )
        return info.local_outputs(outputs)

    def outputs(self, pattern: Pattern) -> dict[str, dict[str, str]] | None:
        """The deployed stacks' outputs, API URLs made local; ``None`` when not every stack is deployed. The
        accounts of a multi-account example's stacks come from its last synthesized assembly."""
        info = self.info()
        accounts = assembly_accounts(ASSEMBLIES_DIR / pattern.slug)
        with answering(info):
            outputs = stack_outputs(info.session(self.account), pattern, info.session, accounts)
        return None if outputs is None else info.local_outputs(outputs)

    def destroy(self, pattern: Pattern, assembly_dir: Path | None, progress: Progress) -> None:
        """Delete the stacks (dependents first), each in its account, and their functions' log groups."""
        info = self.info()
        with answering(info):
            if assembly_dir is not None:
                assembly_deployer.destroy_assembly(
                    info.session(self.account), assembly_dir, progress, session_for=info.session
                )
            else:
                assembly_deployer.destroy_stacks(info.session(self.account), list(pattern.stacks), progress)


@contextlib.contextmanager
def answering(info: control.SandboxInfo) -> Iterator[None]:
    """Turn a lost connection to the sandbox into an error that says so and where its log is."""
    try:
        yield
    except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) as error:
        raise control.SandboxError(
            f"the sandbox stopped answering at {info.endpoint_url} ({type(error).__name__}); see {info.log_file}"
        ) from error
