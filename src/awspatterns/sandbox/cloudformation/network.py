"""Security-group egress rules in CloudFormation (moto 5.2.5 skips ``AWS::EC2::SecurityGroupEgress``)."""

from __future__ import annotations

import contextlib
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends

from awspatterns.sandbox.cloudformation.base import SandboxModel

__all__ = ["MODELS", "Ec2SecurityGroupEgress"]


class Ec2SecurityGroupEgress(SandboxModel, CloudFormationModel):
    """``AWS::EC2::SecurityGroupEgress``: one outbound rule (recorded; the sandbox does not isolate networks)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Ec2SecurityGroupEgress:
        properties = cloudformation_json["Properties"]
        rule = _egress_rule(properties)
        rules, _ = ec2_backends[account_id][region_name].authorize_security_group_egress(properties["GroupId"], **rule)
        return cls(rules[0].id, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the group may have gone first
            ec2_backends[self.account_id][self.region_name].revoke_security_group_egress(
                self.properties["GroupId"], **_egress_rule(self.properties)
            )


def _egress_rule(properties: dict[str, Any]) -> dict[str, Any]:
    ranges = [{"CidrIp": properties["CidrIp"]}] if properties.get("CidrIp") else []
    groups = (
        [{"GroupId": properties["DestinationSecurityGroupId"]}] if properties.get("DestinationSecurityGroupId") else []
    )
    return {
        "ip_protocol": str(properties["IpProtocol"]),
        "from_port": str(properties.get("FromPort", -1)),
        "to_port": str(properties.get("ToPort", -1)),
        "ip_ranges": ranges,
        "source_groups": groups,
    }


MODELS = (Ec2SecurityGroupEgress,)
