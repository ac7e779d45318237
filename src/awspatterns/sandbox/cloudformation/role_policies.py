"""Inline policies of ``AWS::IAM::Role``: stored as JSON, as AWS stores them. moto 5.2.5 kept the template's
object and ``GetRolePolicy`` answered its Python ``repr`` (single quotes), which no JSON reader accepts."""

from __future__ import annotations

import json
from typing import Any

from moto.iam.models import Role

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Patched

__all__ = ["PATCHED", "install"]

#: The moto internals this module replaces (checked by the canary tests).
PATCHED: Patched = ((Role, "create_from_cloudformation_json"),)


def install() -> None:
    """Give moto's role creation each inline policy document as JSON text."""
    original = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties", {})
        for policy in properties.get("Policies", []):
            if isinstance(policy.get("PolicyDocument"), dict):
                policy["PolicyDocument"] = json.dumps(policy["PolicyDocument"])
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    replace(Role, "create_from_cloudformation_json", classmethod(create))
