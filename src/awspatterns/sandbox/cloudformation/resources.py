"""The resource types the sandbox adds to moto's CloudFormation, as one subsystem: each module listed in
:data:`MODULES` defines ``MODELS``; :func:`install` registers them all and gives moto's own models the ``Ref``
values they lack."""

from __future__ import annotations

from awspatterns.sandbox.cloudformation import (
    alarms,
    apigateway,
    glue,
    messaging,
    network,
    policies,
    registry,
    streaming,
)
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["MODULES", "PATCHED", "install"]

#: The modules whose ``MODELS`` this subsystem registers (RDS registers its own, with its servers).
MODULES = (policies, messaging, alarms, network, streaming, apigateway, glue)

#: It patches nothing: models are new classes, and the ``Ref`` values are additions (see the canary tests).
PATCHED: Patched = ()


def install(engine: Engine) -> None:
    """Register every model of :data:`MODULES` with moto's CloudFormation."""
    registry.fix_ref_values()
    registry.register(model for module in MODULES for model in module.MODELS)
