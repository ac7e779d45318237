"""pytest plugin of the catalog (registered through the ``pytest11`` entry point).

* ``lambda_context`` and ``handler_loader`` for handler unit tests;
* ``sandbox``: a sandbox server for the test session, in its own state directory;
* ``deploy_pattern``: deploys an example into a *fresh account* of that sandbox, and destroys it afterwards; a
  multi-account example gets a fresh account for each account it names.
"""

from __future__ import annotations

import inspect
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
from awspatterns.targets.assembly import stacks_in_order
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
    #: The fresh account standing in for each of the sandbox's accounts (``main``, ``source-a``, ...).
    accounts: dict[str, str] = field(default_factory=dict)
    #: What the other accounts the stacks deploy to held before the deployment, by account id.
    others_before: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    def session_for(self, account: str) -> Any:
        """A session for one of the deployment's accounts, by the sandbox's name for it (``source-a``) or by id."""
        return self.sandbox.session(self.accounts.get(account, account))

    @property
    def flat_outputs(self) -> dict[str, str]:
        """All stacks' outputs in one mapping (what the client's ``run`` takes)."""
        return {k: v for values in self.outputs.values() for k, v in values.items()}

    def run_client(self, **kwargs: Any) -> Any:
        """Drive the example's client against this deployment and return its report."""
        from awspatterns.targets.base import load_client

        client = load_client(self.pattern)
        if "session_for" in inspect.signature(client.run).parameters:
            kwargs.setdefault("session_for", self.session_for)
        return client.run(self.flat_outputs, self.session, **kwargs)

    def quiesce(self, timeout_s: float = 30) -> bool:
        """Wait until the sandbox has no asynchronous invocation or SQS batch in flight."""
        return bool(self.sandbox.control(f"/quiesce?timeout={timeout_s}")["quiet"])

    def record_permissions(self) -> Path:
        """Write the permissions each function's role grants beside those this run used (the sandbox's record)
        to ``docs/permissions/<slug>.md``, which the pattern's page embeds; return that file."""
        from awspatterns.permissions import collect, write_permissions

        self.quiesce()
        functions = []
        main = self.session.account_id
        for account in [main, *self.others_before]:
            stacks = [s.name for s in stacks_in_order(self.assembly_dir) if (s.account or main) == account]
            session = self.session_for(account)
            functions += collect(session, stacks, self.sandbox.permissions(account))
        return write_permissions(self.pattern.slug, functions)

    def destroy(self) -> dict[str, set[str]]:
        """Destroy the stacks; return what is left in the account that was not there before (should be empty)."""
        from awspatterns.sandbox.inventory import inventory, leftovers
        from awspatterns.targets import assembly_deployer

        self.quiesce()
        assembly_deployer.destroy_assembly(
            self.session, self.assembly_dir, progress=lambda _: None, session_for=self.session_for
        )
        self.destroyed = True
        left = leftovers(self.before, inventory(self.session))
        for account, before in self.others_before.items():  # named by account in what is left
            left.update(
                {f"{account}:{k}": v for k, v in leftovers(before, inventory(self.session_for(account))).items()}
            )
        return left


_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each test's call report, so that ``deploy_pattern`` knows at teardown whether the test passed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_CALL_REPORT] = report


def _record_if_verified(item: pytest.Item, deployments: list[DeployedPattern], target: str) -> None:
    """A passing test of a pattern's own end-to-end module that left nothing behind verifies the pattern."""
    from awspatterns.verification import record_verification

    report = item.stash.get(_CALL_REPORT, None)
    if report is None or not report.passed:
        return
    for deployed in deployments:
        module = f"test_{deployed.pattern.slug.replace('-', '_')}_e2e.py"
        if Path(str(item.path)).name == module and deployed.destroyed:
            record_verification(deployed.pattern, target, item.nodeid)


@pytest.fixture
def deploy_pattern(
    sandbox: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., DeployedPattern]]:
    """``deploy_pattern("s3-fanout")`` synthesizes the example and deploys it into a fresh sandbox account;
    ``deploy_pattern(slug, {"key": "value"})`` synthesizes it with that context (``cdk deploy -c key=value``).

    When the test passes, the stacks were destroyed, and the test is in the pattern's own end-to-end module, the
    pattern's current files are recorded as verified (:mod:`awspatterns.verification`)."""
    from awspatterns.sandbox.accounts import ACCOUNTS
    from awspatterns.sandbox.inventory import inventory
    from awspatterns.synth import synth
    from awspatterns.targets import assembly_deployer

    deployments: list[DeployedPattern] = []

    def deploy(slug: str, context: dict[str, Any] | None = None) -> DeployedPattern:
        pattern = get_pattern(slug)
        # A fresh account for each of the sandbox's accounts; a multi-account example names them in its context.
        accounts = {name: str(random.randint(10**11, 10**12 - 1)) for name in ACCOUNTS}  # noqa: S311 (account ids)
        outdir = tmp_path / "cdk.out" / str(len(deployments))  # one assembly per deployment: contexts may differ
        assembly = synth(pattern, outdir, context={**(context or {}), "accounts": accounts})
        session = sandbox.session(accounts["main"])
        used = {s.account for s in stacks_in_order(assembly.directory) if s.account} - {accounts["main"]}
        assembly_deployer.bootstrap(session)
        before = inventory(session)
        others_before = {}
        for account in sorted(used):
            assembly_deployer.bootstrap(sandbox.session(account))
            others_before[account] = inventory(sandbox.session(account))
        outputs = sandbox.local_outputs(
            assembly_deployer.deploy_assembly(
                session, assembly.directory, progress=lambda _: None, session_for=sandbox.session
            )
        )
        deployed = DeployedPattern(
            pattern,
            session,
            sandbox,
            assembly.directory,
            outputs,
            before,
            accounts=accounts,
            others_before=others_before,
        )
        deployments.append(deployed)
        return deployed

    yield deploy
    clean = [deployed for deployed in deployments if deployed.destroyed or deployed.destroy() == {}]
    enforcement = os.environ.get("AWSPATTERNS_SANDBOX_ENFORCE", "on")
    _record_if_verified(request.node, clean, f"sandbox (IAM enforcement {enforcement})")
