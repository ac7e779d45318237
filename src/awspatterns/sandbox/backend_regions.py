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

from moto.core.base_backend import AccountSpecificBackend

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "install"]

#: What this module replaces in moto (checked by the canary tests).
PATCHED: Patched = ((AccountSpecificBackend, "_generate_regions"),)


#: moto's lookup, unwrapped from its per-backend cache: it reads only the class's botocore session.
_lookup = AccountSpecificBackend._generate_regions.__wrapped__  # type: ignore[attr-defined]


@cache
def regions(service_name: str) -> tuple[str, ...]:
    """The regions of ``service_name`` over every partition, as moto lists them; looked up once per process."""
    return tuple(_lookup(None, service_name))


def generate_regions(backend: Any, service_name: str) -> list[str]:
    """Replaces ``AccountSpecificBackend._generate_regions``: the shared lookup, in a list of the backend's own."""
    return list(regions(service_name))


def install(engine: Engine) -> None:
    """Have every account's backend of a service share one lookup of the service's regions."""
    replace(AccountSpecificBackend, "_generate_regions", generate_regions)
