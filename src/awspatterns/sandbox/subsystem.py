"""What the sandbox's subsystems and its engine agree on: the services the engine offers a subsystem, and what a
subsystem declares (the moto internals it patches, and the moto state it reads) and does (install itself).

A subsystem is a module with ``PATCHED`` and ``install(engine)``, and ``READS`` when it reads moto's private or
internal state; :data:`awspatterns.sandbox.engine.SUBSYSTEMS` lists them in installation order. Adding a service to
the sandbox is adding such a module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.deliveries.async_invoke import DEFAULT_RETRY_DELAYS_S
from awspatterns.sandbox.runtime.runtime import InvocationResult, LambdaRuntime

__all__ = ["ENFORCE_MODES", "Component", "Engine", "EngineSettings", "Patched", "Reads", "Subsystem", "fields"]

#: ``(owner, attribute)`` pairs: the moto internals a subsystem replaces, wraps or calls.
Patched = tuple[tuple[object, str], ...]

#: ``(class, attribute)`` pairs: moto state a subsystem reads (or empties) without patching it: private attributes,
#: and the internal collections and fields of moto's models it reaches into. An instance attribute is named with
#: the class whose instances carry it; the canary tests check each is still there.
Reads = tuple[tuple[type, str], ...]


def fields(owner: type, *names: str) -> Reads:
    """``READS`` entries for several attributes of one class."""
    return tuple((owner, name) for name in names)


#: The enforcement modes (see :attr:`EngineSettings.enforce`).
ENFORCE_MODES = ("on", "soft", "off")


@dataclass(frozen=True)
class EngineSettings:
    """How the sandbox scales AWS's timings down for local use."""

    #: Pauses between asynchronous invocation retries (Lambda: about 60 s, then 120 s).
    retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S
    #: The longest Firehose buffers records before delivering them (AWS: 60 to 900 s).
    firehose_interval_s: float = 1.0
    #: How often expired DynamoDB items are deleted (AWS: typically within a few days of their expiry).
    ttl_interval_s: float = 0.5
    #: What the sandbox denies that AWS would: ``on`` denies it, ``soft`` only logs it, ``off`` neither.
    enforce: str = "on"


class Component(Protocol):
    """Background work a subsystem owns: the engine waits for it to be idle and stops it."""

    def busy(self) -> bool:
        """Whether work waits that the component will take on its own, or runs outside the engine's
        :class:`Activity` (``quiesce`` waits until no component is busy). Work the component does in the
        background is counted as units of ``engine.activity``; ``busy`` may also start work that would otherwise
        wait for a timer (a buffer delivered now)."""
        ...

    def shutdown(self) -> None:
        """Stop the work and release what it holds (threads, processes, files)."""
        ...


class Engine(Protocol):
    """The services the engine offers its subsystems."""

    endpoint_url: str
    work_dir: Path
    settings: EngineSettings
    runtime: LambdaRuntime
    #: The units of background work in flight, which ``quiesce`` waits for (see ``deliveries.activity``).
    activity: Activity

    def run(self, fn: Any, event: str) -> InvocationResult:
        """Invoke a moto function object synchronously, recording its logs."""
        ...

    def invoke_function(self, account_id: str, region: str, function_arn: str, event: str) -> InvocationResult:
        """Invoke a function synchronously by ARN or name."""
        ...

    def submit_async(self, account_id: str, region: str, function_arn: str, event: str) -> None:
        """Queue an asynchronous invocation with the function's retry and destination settings."""
        ...

    def deliver(
        self,
        account_id: str,
        region: str,
        target_arn: str,
        message: str,
        attributes: Mapping[str, str | int] | None = None,
    ) -> None:
        """Send a message to an SQS queue, SNS topic or Lambda function, with optional message attributes."""
        ...

    def add_component(self, component: Component) -> None:
        """Have the engine wait for ``component`` in ``quiesce`` and stop it on shutdown."""
        ...


class Subsystem(Protocol):
    """A module that adds one service or behaviour to moto."""

    PATCHED: Patched

    def install(self, engine: Engine) -> None:
        """Patch moto in this process and register any background work with ``engine``."""
        ...
