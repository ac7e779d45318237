"""The sandbox engine: moto's backends plus the subsystems the sandbox adds, for one server process.

:data:`SUBSYSTEMS` lists the modules that make up the sandbox, in installation order; each declares the moto
internals it patches (``PATCHED``, checked by the canary tests, so a moto upgrade that moves one fails loudly)
and installs itself with ``install(engine)``, registering its background work as components. The engine owns what
they share: the Lambda runtime, asynchronous invocation, delivery to destinations, and waiting for quiet.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from moto.awslambda.utils import get_backend as lambda_backend

from awspatterns.sandbox import backend_regions, dynamodb_ttl, ec2_amis, kms_key_material, listeners, s3_addressing
from awspatterns.sandbox.cloudformation import (
    apigateway,
    bucket_versioning,
    custom_resources,
    kms,
    lifecycle,
    resources,
)
from awspatterns.sandbox.deliveries import (
    alarm_actions,
    destinations,
    event_sources,
    eventbridge,
    firehose,
    message_moves,
    s3,
    s3_records,
    s3_version_events,
    sns,
)
from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.deliveries.async_invoke import AsyncInvocation, AsyncInvoker
from awspatterns.sandbox.iam import enforcement
from awspatterns.sandbox.rds import aurora
from awspatterns.sandbox.runtime import functions
from awspatterns.sandbox.runtime.credentials import FunctionCredentials
from awspatterns.sandbox.runtime.logs import write_invocation_logs
from awspatterns.sandbox.runtime.runtime import InvocationResult, LambdaRuntime
from awspatterns.sandbox.s3_presigned import enforcement as s3_presigned
from awspatterns.sandbox.subsystem import Component, EngineSettings, Patched, Reads, Subsystem

__all__ = ["PATCHED", "READS", "SUBSYSTEMS", "SandboxEngine"]

#: The sandbox's subsystems, in installation order: CloudFormation's types before what creates through them.
SUBSYSTEMS: tuple[Subsystem, ...] = (
    listeners,
    resources,
    bucket_versioning,
    lifecycle,
    custom_resources,
    apigateway,
    kms,
    aurora,
    functions,
    event_sources,
    sns,
    s3,
    s3_presigned,
    s3_addressing,
    s3_records,
    s3_version_events,
    eventbridge,
    alarm_actions,
    firehose,
    enforcement,
    message_moves,
    dynamodb_ttl,
    ec2_amis,
    backend_regions,
    kms_key_material,
)

#: Every moto internal the sandbox replaces, wraps or calls: (object, attribute). Canary tests check each exists.
PATCHED: Patched = tuple(patched for subsystem in SUBSYSTEMS for patched in subsystem.PATCHED)

#: Every moto state the sandbox reads without patching it: (class, attribute), from each subsystem's ``READS``
#: (optional: not every subsystem reads moto's state). Canary tests check each is still there.
READS: Reads = tuple(read for subsystem in SUBSYSTEMS for read in getattr(subsystem, "READS", ()))


class SandboxEngine:
    """Everything the sandbox adds to moto, for one server process."""

    def __init__(self, endpoint_url: str, work_dir: Path, settings: EngineSettings | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.work_dir = work_dir
        self.settings = settings or EngineSettings()
        self.runtime = LambdaRuntime(endpoint_url, work_dir)
        self.activity = Activity()
        self.async_invoker = AsyncInvoker(
            self.invoke_function, self.deliver, self.settings.retry_delays_s, activity=self.activity
        )
        self._components: list[Component] = []
        #: Each function's execution-role credentials (its calls are evaluated against the role's policies).
        self.function_credentials = FunctionCredentials()

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
        spec = functions.function_spec(fn, self.work_dir, self.function_credentials)
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

    def deliver(
        self,
        account_id: str,
        region: str,
        target_arn: str,
        message: str,
        attributes: Mapping[str, str | int] | None = None,
    ) -> None:
        """Send a message to a destination ARN: SQS queue, SNS topic or Lambda function; ``attributes`` become
        message attributes (``str`` a String, ``int`` a Number)."""
        destinations.deliver(target_arn, message, self.submit_async, attributes)

    # ------------------------------------------------------------------ lifecycle
    def quiescent(self, timeout_s: float = 30.0) -> bool:
        """Wait until the work already caused has all happened: no unit of activity in flight (asynchronous
        invocations with their retries, polls, Firehose deliveries) and no component busy (messages ready in
        mapped queues, unread stream records, buffered Firehose records; buffers are delivered at once). Tests use
        it instead of sleeping. An SQS message waiting out its visibility timeout or delay is not waited for: its retry
        comes when the timeout ends, which can be minutes.

        Exact, not a guess: a round counts only if no unit was in flight when it began and none began before it
        ended. Every unit begins before it takes or creates work and a unit that causes another begins that one
        before it ends, so with no unit running during the round nothing in the sandbox added or took work while
        the components were asked, and what each reported idle was still idle when the round ended. (Requests
        from clients can add work at any time: quiet covers what was caused before ``quiesce`` was called.)
        """
        deadline = time.monotonic() + timeout_s
        while True:
            begun = self.activity.idle_since(deadline - time.monotonic())
            if begun is None:
                return False
            busy = [component.busy() for component in self._components]  # each asked every round (buffers flush)
            if not any(busy) and self.activity.still_idle(begun):
                return True
            if time.monotonic() >= deadline:
                return False
            if any(busy):  # work waits for a poller: wake when a unit begins, or look again shortly
                self.activity.wait_for_news(begun, min(0.05, max(0.0, deadline - time.monotonic())))

    def shutdown(self) -> None:
        """Stop the background work and every execution environment."""
        for component in self._components:
            component.shutdown()
        self.async_invoker.shutdown()
        self.runtime.shutdown()
