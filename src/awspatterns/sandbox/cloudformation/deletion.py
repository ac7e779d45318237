"""Deleting what moto 5.2.5 creates in CloudFormation but leaves behind on stack deletion: the network of a VPC
(NAT gateways, Elastic IPs, routes, route tables and their associations, gateway attachments, internet
gateways, VPC endpoints) and IAM managed policies. Without these, deleting a VPC stack failed with
``DependencyViolation`` and left resources behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.ec2.models import ec2_backends
from moto.ec2.models.route_tables import RouteTable
from moto.iam.models import iam_backends

from awspatterns.sandbox.cloudformation.dependencies import creation_order
from awspatterns.sandbox.errors import SandboxUnsupported
from awspatterns.sandbox.subsystem import Reads, fields

__all__ = ["DELETERS", "READS", "delete_in_dependency_order"]

#: moto state deletion reads without patching it (the canary tests check each).
READS: Reads = (
    *fields(parsing.ResourceMap, "_resource_json_map", "_parsed_resources", "_account_id", "_region_name"),
    (RouteTable, "_associations"),
)

Deleter = Callable[[Any, str, str], None]


def _ec2(account_id: str, region_name: str) -> Any:
    return ec2_backends[account_id][region_name]


def _eip(address: Any, account_id: str, region_name: str) -> None:
    _ec2(account_id, region_name).release_address(allocation_id=address.allocation_id)


def _nat_gateway(gateway: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    backend.delete_nat_gateway(gateway.id)
    backend.nat_gateways.pop(gateway.id, None)  # AWS forgets deleted gateways after an hour; the sandbox at once


def _gateway_attachment(attachment: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    if attachment.gateway_id.startswith("igw-"):
        backend.detach_internet_gateway(attachment.gateway_id, attachment.vpc_id)
    else:
        backend.detach_vpn_gateway(attachment.gateway_id, attachment.vpc_id)


def _internet_gateway(gateway: Any, account_id: str, region_name: str) -> None:
    _ec2(account_id, region_name).delete_internet_gateway(gateway.id)


def _route(route: Any, account_id: str, region_name: str) -> None:
    _ec2(account_id, region_name).delete_route(route.route_table.id, route.destination_cidr_block)


def _route_table(table: Any, account_id: str, region_name: str) -> None:
    _ec2(account_id, region_name).delete_route_table(table.id)


def _route_table_association(association: Any, account_id: str, region_name: str) -> None:
    backend = _ec2(account_id, region_name)
    backend.subnet_associations.pop(f"{association.route_table_id}:{association.subnet_id}", None)
    table = backend.get_route_table(association.route_table_id)
    for association_id, subnet_id in list(table._associations.items()):
        if subnet_id == association.subnet_id:
            backend.disassociate_route_table(association_id)


def _vpc_endpoint(endpoint: Any, account_id: str, region_name: str) -> None:
    _ec2(account_id, region_name).delete_vpc_endpoints([endpoint.id])


def _managed_policy(policy: Any, account_id: str, region_name: str) -> None:
    backend = iam_backends[account_id][policy.partition]
    for role in list(backend.roles.values()):
        if policy.arn in role.managed_policies:
            backend.detach_role_policy(policy.arn, role.name)
    backend.delete_policy(policy.arn)


#: Resource type -> how to delete the moto model CloudFormation created.
DELETERS: dict[str, Deleter] = {
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::NatGateway": _nat_gateway,
    "AWS::EC2::VPCGatewayAttachment": _gateway_attachment,
    "AWS::EC2::InternetGateway": _internet_gateway,
    "AWS::EC2::Route": _route,
    "AWS::EC2::RouteTable": _route_table,
    "AWS::EC2::SubnetRouteTableAssociation": _route_table_association,
    "AWS::EC2::VPCEndpoint": _vpc_endpoint,
    "AWS::IAM::ManagedPolicy": _managed_policy,
}


def delete_in_dependency_order(resource_map: Any) -> None:
    """Replacement of ``ResourceMap.delete``: dependents first, as CloudFormation does; a failure names the
    resource and stops the deletion (the stack is then DELETE_FAILED)."""
    for logical_id in reversed(creation_order(resource_map._resource_json_map)):
        resource_json = resource_map._resource_json_map[logical_id]
        if resource_json.get("DeletionPolicy") == "Retain":
            continue
        parsed = resource_map._parsed_resources.get(logical_id)
        if parsed is None or isinstance(parsed, str):
            continue
        try:
            deleter = DELETERS.get(resource_json["Type"])
            if deleter is not None:
                deleter(parsed, resource_map._account_id, resource_map._region_name)
            else:
                resource_map._delete_resource(parsed, resource_json)
        except Exception as error:
            if not _already_gone(error):
                raise SandboxUnsupported(f"could not delete {logical_id} ({resource_json['Type']}): {error}") from error
        resource_map._parsed_resources.pop(logical_id)


def _already_gone(error: Exception) -> bool:
    """Whether deleting failed because the resource no longer exists (deleted outside the stack), which
    CloudFormation counts as deleted."""
    names = f"{type(error).__name__} {getattr(error, 'code', '')} {getattr(error, 'error_type', '')}"
    return any(marker in names for marker in ("NotFound", "DoesNotExist", "NoSuch", "NonExistent"))
