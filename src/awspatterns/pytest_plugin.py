"""pytest plugin of the catalog (registered through the ``pytest11`` entry point).

* ``lambda_context`` and ``handler_loader`` for handler unit tests;
* ``sandbox``: a sandbox server for the test session, in its own state directory;
* ``deploy_pattern``: deploys an example into a *fresh account* of that sandbox, and destroys it afterwards.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from awspatterns.catalog import Pattern, get_pattern
from awspatterns.testing import FakeLambdaContext, load_handler

__all__ = ["DeployedPattern", "deploy_pattern", "handler_loader", "lambda_context", "sandbox"]


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A Lambda context object good enough for Powertools."""
    return FakeLambdaContext()


@pytest.fixture
def handler_loader() -> Callable[[str, str], ModuleType]:
    """``handler_loader(slug, "indexer.index")`` imports a handler module fresh (see :func:`load_handler`)."""
    return load_handler


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    """A sandbox server for this test session, stopped at the end; ``AWSPATTERNS_SANDBOX_ENFORCE`` (on, soft, off)
    sets its enforcement mode (default on)."""
    from awspatterns.sandbox import control

    with tempfile.TemporaryDirectory(prefix="awspatterns-sandbox-") as state_dir:
        # Short retry delays keep tests fast; long Firehose buffering keeps buffering observable (quiesce flushes).
        info = control.start(
            Path(state_dir),
            retry_delays_s=(0.2, 0.4),
            firehose_interval_s=60,
            enforce=os.environ.get("AWSPATTERNS_SANDBOX_ENFORCE", "on"),
        )
        try:
            yield info
        finally:
            control.stop(Path(state_dir))
            left = control.leftover_processes(Path(state_dir))
            if left:  # every test session proves that nothing of its sandbox outlives `stop`
                raise RuntimeError(f"processes of the test sandbox outlived `patterns sandbox stop`: {left}")


@dataclass
class DeployedPattern:
    """An example deployed into a fresh sandbox account."""

    pattern: Pattern
    session: Any
    sandbox: Any
    assembly_dir: Path
    outputs: dict[str, dict[str, str]]
    before: dict[str, set[str]]
    destroyed: bool = field(default=False)

    @property
    def flat_outputs(self) -> dict[str, str]:
        """All stacks' outputs in one mapping (what the client's ``run`` takes)."""
        return {k: v for values in self.outputs.values() for k, v in values.items()}

    def run_client(self, **kwargs: Any) -> Any:
        """Drive the example's client against this deployment and return its report."""
        from awspatterns.targets.base import load_client

        return load_client(self.pattern).run(self.flat_outputs, self.session, **kwargs)

    def quiesce(self, timeout_s: float = 30) -> bool:
        """Wait until the sandbox has no asynchronous invocation or SQS batch in flight."""
        return bool(self.sandbox.control(f"/quiesce?timeout={timeout_s}")["quiet"])

    def record_permissions(self) -> Path:
        """Write the permissions each function's role grants beside those this run used (the sandbox's record)
        to ``docs/permissions/<slug>.md``, which the pattern's page embeds; return that file."""
        from awspatterns.permissions import collect, write_permissions
        from awspatterns.targets.assembly import stacks_in_order

        self.quiesce()
        stacks = [s.name for s in stacks_in_order(self.assembly_dir)]
        record = self.sandbox.permissions(self.session.account_id)
        return write_permissions(self.pattern.slug, collect(self.session, stacks, record))

    def destroy(self) -> dict[str, set[str]]:
        """Destroy the stacks; return what is left in the account that was not there before (should be empty)."""
        from awspatterns.sandbox.inventory import inventory, leftovers
        from awspatterns.targets import assembly_deployer
        from awspatterns.targets.assembly import stacks_in_order

        self.quiesce()
        assembly_deployer.destroy_stacks(
            self.session, [s.name for s in stacks_in_order(self.assembly_dir)], progress=lambda _: None
        )
        self.destroyed = True
        return leftovers(self.before, inventory(self.session))


@pytest.fixture
def deploy_pattern(sandbox: Any, tmp_path: Path) -> Iterator[Callable[..., DeployedPattern]]:
    """``deploy_pattern("s3-fanout")`` synthesizes the example and deploys it into a fresh sandbox account;
    ``deploy_pattern(slug, {"key": "value"})`` synthesizes it with that context (``cdk deploy -c key=value``)."""
    from awspatterns.sandbox.inventory import inventory
    from awspatterns.synth import synth
    from awspatterns.targets import assembly_deployer

    deployments: list[DeployedPattern] = []

    def deploy(slug: str, context: dict[str, str] | None = None) -> DeployedPattern:
        pattern = get_pattern(slug)
        outdir = tmp_path / "cdk.out" / str(len(deployments))  # one assembly per deployment: contexts may differ
        assembly = synth(pattern, outdir, context)
        session = sandbox.session(str(random.randint(10**11, 10**12 - 1)))  # noqa: S311 (an account id)
        assembly_deployer.bootstrap(session)
        before = inventory(session)
        outputs = sandbox.local_outputs(
            assembly_deployer.deploy_assembly(session, assembly.directory, progress=lambda _: None)
        )
        deployed = DeployedPattern(pattern, session, sandbox, assembly.directory, outputs, before)
        deployments.append(deployed)
        return deployed

    yield deploy
    for deployed in deployments:
        if not deployed.destroyed:
            deployed.destroy()
