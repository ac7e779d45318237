"""KMS key pairs generated when a key first signs, verifies or gives its public key, not when the key is created.

moto 5.2.5 generates a private key for every KMS key it creates, symmetric ones included (an RSA 2048 key, tens of
milliseconds of CPU each, for a key that never uses it); the sandbox's stacks create KMS keys in most deployments.
Each key now gets a stand-in that generates the same kind of key pair (``generate_private_key`` of the key's spec)
on first use and hands every later use the same pair, so what a key signs, verifies and publishes is unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.kms import models as kms_models

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "DeferredKeyPair", "install"]

#: What this module replaces in moto (checked by the canary tests): the key generation moto's ``Key`` calls.
PATCHED: Patched = ((kms_models, "generate_private_key"),)


class DeferredKeyPair:
    """Stands in for moto's private key object: generated on first attribute access, once."""

    def __init__(self, generate: Any, key_spec: str) -> None:
        self._generate = generate
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def generated(self) -> bool:
        """Whether the key pair exists yet."""
        return self._key is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # the stand-in's own state, and the protocols Python looks up on instances
            raise AttributeError(name)
        with self._lock:
            if self._key is None:
                self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


def install(engine: Engine) -> None:
    """Have every KMS key generate its key pair on first use."""
    generate = getattr(kms_models, "generate_private_key")  # noqa: B009 (moto does not re-export it)
    replace(kms_models, "generate_private_key", lambda key_spec: DeferredKeyPair(generate, key_spec))
