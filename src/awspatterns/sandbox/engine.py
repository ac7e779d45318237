"""The sandbox engine: moto's backends plus the subsystems the sandbox adds, for one server process.

:data:`SUBSYSTEMS` lists the modules that make up the sandbox, in installation order; each declares the moto
internals it patches (``PATCHED``, checked by the canary tests, so a moto upgrade that moves one fails loudly)
and installs itself with ``install(engine)``, registering its background work as components. The engine owns what
they share: the Lambda runtime, asynchronous invocation, delivery to destinations, and waiting for quiet.
"""

from __future__ import annotations

import time
from pathlib import Path

from moto.awslambda.utils import get_backend as lambda_backend

from awspatterns.sandbox import listeners
from awspatterns.sandbox.cloudformation import apigateway, custom_resources, kms, lifecycle, resources
from awspatterns.sandbox.deliveries import destinations, event_sources, eventbridge, firehose, s3, sns
from awspatterns.sandbox.deliveries.async_invoke import AsyncInvocation, AsyncInvoker
from awspatterns.sandbox.iam import enforcement
from awspatterns.sandbox.rds import aurora
from awspatterns.sandbox.runtime import functions
from awspatterns.sandbox.runtime.logs import write_invocation_logs
from awspatterns.sandbox.runtime.runtime import InvocationResult, LambdaRuntime
from awspatterns.sandbox.subsystem import Component, EngineSettings, Patched, Subsystem

__all__ = ["PATCHED", "SUBSYSTEMS", "SandboxEngine"]

#: The sandbox's subsystems, in installation order: CloudFormation's types before what creates through them.
SUBSYSTEMS: tuple[Subsystem, ...] = (
    listeners,
    resources,
    lifecycle,
    custom_resources,
    apigateway,
    kms,
    aurora,
    functions,
    event_sources,
    sns,
    s3,
    eventbridge,
    firehose,
    enforcement,
)

#: Every moto internal the sandbox replaces, wraps or calls: (object, attribute). Canary tests check each exists.
PATCHED: Patched = tuple(patched for subsystem in SUBSYSTEMS for patched in subsystem.PATCHED)


class SandboxEngine:
    """Everything the sandbox adds to moto, for one server process."""

    def __init__(self, endpoint_url: str, work_dir: Path, settings: EngineSettings | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.work_dir = work_dir
        self.settings = settings or EngineSettings()
        self.runtime = LambdaRuntime(endpoint_url, work_dir)
        self.async_invoker = AsyncInvoker(self.invoke_function, self.deliver, self.settings.retry_delays_s)
        self._components: list[Component] = []

    def install(self) -> None:
        """Install every subsystem into moto in this process. Call once, before the server handles requests."""
        for subsystem in SUBSYSTEMS:
            subsystem.install(self)

    def add_component(self, component: Component) -> None:
        """Wait for ``component`` in :meth:`quiescent` and stop it in :meth:`shutdown`."""
        self._components.append(component)

    # ------------------------------------------------------------------ invocation
    def run(self, fn: object, event: str) -> InvocationResult:
        """Invoke a moto function synchronously and record its logs in CloudWatch Logs."""
        spec = functions.function_spec(fn)
        result = self.runtime.invoke(spec, fn.code_bytes, event)  # type: ignore[attr-defined]
        write_invocation_logs(spec, result)
        return result

    def invoke_function(self, account_id: str, region: str, function_arn: str, event: str) -> InvocationResult:
        """Invoke a function synchronously by ARN (or name) in an account and region."""
        return self.run(lambda_backend(account_id, region).get_function(function_arn), event)

    def submit_async(self, account_id: str, region: str, function_arn: str, event: str) -> None:
        """Queue an asynchronous invocation, with the function's retry and destination settings."""
        fn = lambda_backend(account_id, region).get_function(function_arn)
        config, dead_letter = functions.async_settings(fn)
        self.async_invoker.submit(AsyncInvocation(account_id, region, fn.function_arn, event), config, dead_letter)

    def deliver(self, account_id: str, region: str, target_arn: str, message: str) -> None:
        """Send a message to a destination ARN: SQS queue, SNS topic or Lambda function."""
        destinations.deliver(target_arn, message, self.submit_async)

    # ------------------------------------------------------------------ lifecycle
    def quiescent(self, timeout_s: float = 30.0) -> bool:
        """Wait until asynchronous invocations and every component's work have drained (tests use it instead of
        sleeping); components with buffers deliver them meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            busy = [component.busy() for component in self._components]  # each asked every round (buffers flush)
            if self.async_invoker.idle(0.05) and not any(busy):
                return True
        return False

    def shutdown(self) -> None:
        """Stop the background work and every execution environment."""
        for component in self._components:
            component.shutdown()
        self.async_invoker.shutdown()
        self.runtime.shutdown()
