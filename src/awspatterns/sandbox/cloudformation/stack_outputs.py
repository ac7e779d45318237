"""``Fn::GetStackOutput``: another stack's output, read when the stack that names it is created or updated.

What the CDK writes for a reference between two stacks of one app (with the feature flags it recommends),
instead of an export and ``Fn::ImportValue``. moto 5.2.5 left the function unresolved, so a consumer got the
function's text as its value. As on AWS the reference is weak: nothing stops the other stack from being deleted or
changed afterwards, and the consumer keeps the value it read until it is updated.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import cloudformation_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Patched

__all__ = ["LIVE", "PATCHED", "install", "stack_output"]

#: The moto internals this module replaces (checked by the canary tests).
PATCHED: Patched = ((parsing, "clean_json"),)
#: Stack states whose outputs can be read.
LIVE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


def stack_output(account_id: str, region_name: str, stack_name: str, output_name: str) -> str:
    """The value of ``output_name`` of the live stack ``stack_name``; a ``ValidationError`` naming what is missing."""
    backend = cloudformation_backends[account_id][region_name]
    stacks = [s for s in backend.stacks.values() if stack_name in (s.name, s.stack_id) and s.status in LIVE]
    if not stacks:
        raise ValidationError(message=f"Stack with id {stack_name} does not exist in {account_id} {region_name}")
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].outputs or []}
    if output_name not in outputs:
        raise ValidationError(message=f"Stack {stack_name} has no output {output_name}")
    return str(outputs[output_name])


def install() -> None:
    """Resolve ``Fn::GetStackOutput`` (same account, or the account of its ``RoleArn``) wherever moto cleans JSON."""
    original = parsing.clean_json

    def clean_json(node: Any, resources_map: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Fn::GetStackOutput"}:
            spec = original(node["Fn::GetStackOutput"], resources_map)
            role = spec.get("RoleArn")
            account = Arn.parse(role).account if role else resources_map._account_id
            region = spec.get("Region") or resources_map._region_name
            return stack_output(account, region, spec["StackName"], spec["OutputName"])
        return original(node, resources_map)

    replace(parsing, "clean_json", clean_json)
