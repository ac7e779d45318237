"""The regions of a service's backend, looked up once per service and process instead of once per account.

moto 5.2.5 lists the regions of a service for every account-specific backend it creates, from botocore's endpoint
data (loading the service's model to find its endpoint prefix). It means to cache that with ``lru_cache`` on the
method, but the cache key includes the backend, a new object for every account, so every fresh account of the
sandbox pays it again for each service it touches. The list depends only on the service name; each backend still
gets a list of its own.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import UnknownServiceError
from botocore.session import Session
from moto.core.base_backend import AccountSpecificBackend
from moto.core.utils import get_service_model

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "install"]

#: What this module replaces in moto (checked by the canary tests).
PATCHED: Patched = (
    (AccountSpecificBackend, "_generate_regions"),
    (AccountSpecificBackend, "get_session"),
    (Session, "_get_internal_component"),
)


@cache
def regions(service_name: str) -> tuple[str, ...]:
    """The regions of ``service_name`` over every partition, as moto lists them; looked up once per process.

    botocore's ``get_available_regions`` parses the service's model only to read its endpoint prefix; moto parses
    the same model again to serve the service, so the prefix is read from moto's (cached) model instead, and the
    rest is botocore's lookup."""
    session = AccountSpecificBackend.get_session()
    try:
        metadata = get_service_model(service_name).metadata
    except UnknownServiceError:  # as botocore's lookup: a service it has no model for has no regions
        return ()
    resolver = session._session._get_internal_component("endpoint_resolver")  # boto3's session holds botocore's
    prefix = metadata.get("endpointPrefix", service_name)
    return tuple(
        region
        for partition in session.get_available_partitions()
        for region in resolver.get_available_endpoints(prefix, partition, False)
    )


def generate_regions(backend: Any, service_name: str) -> list[str]:
    """Replaces ``AccountSpecificBackend._generate_regions``: the shared lookup, in a list of the backend's own."""
    return list(regions(service_name))


def install(engine: Engine) -> None:
    """Have every account's backend of a service share one lookup of the service's regions."""
    replace(AccountSpecificBackend, "_generate_regions", generate_regions)
