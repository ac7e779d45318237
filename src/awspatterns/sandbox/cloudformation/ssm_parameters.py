"""Template parameters of the ``AWS::SSM::Parameter::Value<...>`` types: a parameter that does not exist is
CloudFormation's ``ValidationError`` naming it, not a server error (moto 5.2.5 raised ``AttributeError``)."""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.ssm.models import ssm_backends

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Patched

__all__ = ["PATCHED", "install"]

#: The moto internals this module replaces (checked by the canary tests).
PATCHED: Patched = ((parsing.ResourceMap, "parse_ssm_parameter"),)


def install() -> None:
    """Refuse a stack whose SSM-typed parameter names a parameter the account does not have."""
    original = parsing.ResourceMap.parse_ssm_parameter

    def parse_ssm_parameter(resource_map: Any, value: str, value_type: str) -> Any:
        if ssm_backends[resource_map._account_id][resource_map._region_name].get_parameter(value) is None:
            raise ValidationError(
                message=f"Unable to fetch parameters [{value}] from parameter store for this account."
            )
        return original(resource_map, value, value_type)

    replace(parsing.ResourceMap, "parse_ssm_parameter", parse_ssm_parameter)
