"""What every CloudFormation resource type the sandbox adds shares, and the property conventions they read.

moto finds resource types through ``CloudFormationModel.__subclasses__()``, so each model must be a *direct*
subclass of ``CloudFormationModel`` (``SandboxModel`` is a mixin and comes first) in an importable module; see
:mod:`awspatterns.sandbox.cloudformation.registry`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SandboxModel", "cfn_bool", "partition", "policy_json"]


class SandboxModel:
    """What every added model shares: created at once, replaced on update, deleted through ``_delete``."""

    physical_resource_id: str
    properties: dict[str, Any]
    account_id: str
    region_name: str

    def __init__(self, physical_id: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        self.physical_resource_id = physical_id
        self.properties = properties
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in getattr(cls, "ATTRIBUTES", ())

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(  # type: ignore[attr-defined]
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)._delete()

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete()

    def _delete(self) -> None:
        raise NotImplementedError


def cfn_bool(value: Any) -> bool:
    """A CloudFormation boolean property: a JSON boolean or the string "true"/"false"."""
    return value is True or str(value).lower() == "true"


def policy_json(document: Any) -> str:
    """A policy document property as the JSON text the services store."""
    return document if isinstance(document, str) else json.dumps(document)


def partition(region_name: str) -> str:
    """The partition of a region (``aws`` or ``aws-cn``)."""
    return "aws-cn" if region_name.startswith("cn-") else "aws"
