"""KMS keys created by CloudFormation keep a key policy KMS can read (moto 5.2.5 stored it as a dict, then failed
parsing it on every KMS call)."""

from __future__ import annotations

import json
from typing import Any

from moto.kms.models import Key as KmsKey

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "install"]

PATCHED: Patched = ((KmsKey, "create_from_cloudformation_json"),)


def install(engine: Engine) -> None:
    """Store a key policy from a template as the JSON text KMS expects."""
    original = KmsKey.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: type, *args: Any, **kwargs: Any) -> Any:
        key = original(cls, *args, **kwargs)
        if isinstance(key.policy, dict):
            key.policy = json.dumps(key.policy)
        return key

    replace(KmsKey, "create_from_cloudformation_json", classmethod(create))
