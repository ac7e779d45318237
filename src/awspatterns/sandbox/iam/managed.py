"""AWS-managed policies, attached as AWS and CloudFormation attach them.

moto 5.2.5 ships the documents of AWS's managed policies (``moto.iam.aws_managed_policies``) but loads them into
every account only when ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set: about a thousand policies per account, too
slow and large for a sandbox that makes an account per test. So ``AttachRolePolicy`` of an AWS-managed ARN
failed, and CloudFormation's ``AWS::IAM::Role`` ignored ``ManagedPolicyArns`` altogether (CDK attaches
``AWSLambdaBasicExecutionRole`` and ``AWSLambdaVPCAccessExecutionRole`` that way). Here an AWS-managed policy is
created in an account the first time something attaches it (the documents are parsed once per process), roles
created or updated by CloudFormation get their ``ManagedPolicyArns``, and deleting such a role detaches them first,
as CloudFormation does.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.iam import aws_managed_policies
from moto.iam.models import AWSManagedPolicy, IAMBackend, Role, iam_backends
from moto.utilities.utils import get_partition

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Patched

__all__ = ["PATCHED", "AwsManagedPolicies", "install"]

PATCHED: Patched = (
    (aws_managed_policies, "aws_managed_policies_data"),
    (AWSManagedPolicy, "from_data"),
    (IAMBackend, "attach_role_policy"),
    (IAMBackend, "attach_user_policy"),
    (IAMBackend, "attach_group_policy"),
    (IAMBackend, "get_policy"),
    (Role, "create_from_cloudformation_json"),
    (Role, "update_from_cloudformation_json"),
    (Role, "delete_from_cloudformation_json"),
)


class AwsManagedPolicies:
    """AWS's managed policy documents, read from moto once, and created in an account on first use."""

    def __init__(self) -> None:
        self._by_arn_path: dict[str, tuple[str, dict[str, Any]]] | None = None
        self._lock = threading.Lock()

    def _catalog(self) -> dict[str, tuple[str, dict[str, Any]]]:
        with self._lock:
            if self._by_arn_path is None:
                data = json.loads(aws_managed_policies.aws_managed_policies_data)
                self._by_arn_path = {f"{d.get('Path', '/')}{name}": (name, d) for name, d in data.items()}
            return self._by_arn_path

    def ensure(self, backend: IAMBackend, arn: str) -> None:
        """Create AWS's policy ``arn`` in ``backend``'s account if it is AWS-managed and not there yet."""
        prefix = f"arn:{backend.partition}:iam::aws:policy"
        if not arn.startswith(prefix) or arn in backend.managed_policies:
            return
        found = self._catalog().get(arn.removeprefix(prefix))
        if found is None:
            return  # moto answers NoSuchEntity, as AWS does for a policy it does not have
        name, data = found
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        with self._lock:
            backend.managed_policies.setdefault(policy.arn, policy)


def _managed_policy_arns(cloudformation_json: dict[str, Any]) -> list[str]:
    return [str(arn) for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns") or []]


def install(policies: AwsManagedPolicies) -> None:
    """Attach AWS-managed policies on demand, and ``ManagedPolicyArns`` of CloudFormation roles."""

    def ensuring(name: str) -> None:
        original = getattr(IAMBackend, name)

        def attach(backend: IAMBackend, policy_arn: str, *args: Any, **kwargs: Any) -> Any:
            policies.ensure(backend, policy_arn)
            return original(backend, policy_arn, *args, **kwargs)

        replace(IAMBackend, name, attach)

    for name in ("attach_role_policy", "attach_user_policy", "attach_group_policy", "get_policy"):
        ensuring(name)

    original_create = Role.create_from_cloudformation_json
    original_update = Role.update_from_cloudformation_json
    original_delete = Role.delete_from_cloudformation_json

    def attach_listed(role: Role, cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        for arn in _managed_policy_arns(cloudformation_json):
            if arn not in role.managed_policies:
                backend.attach_role_policy(arn, role.name)

    def create(cls: type, /, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
               **kwargs: Any) -> Role:  # fmt: skip
        role = original_create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        attach_listed(role, cloudformation_json, account_id, region_name)
        return role

    def update(cls: type, /, original_resource: Role, new_resource_name: str, cloudformation_json: dict[str, Any],
               account_id: str, region_name: str) -> Role:  # fmt: skip
        role = original_update(original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        attach_listed(role, cloudformation_json, account_id, region_name)
        return role

    def delete(cls: type, /, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
               region_name: str) -> None:  # fmt: skip
        backend = iam_backends[account_id][get_partition(region_name)]
        role = next((r for r in backend.roles.values() if r.name == resource_name), None)
        for arn in list(role.managed_policies) if role is not None else ():
            backend.detach_role_policy(arn, resource_name)
        original_delete(resource_name, cloudformation_json, account_id, region_name)

    replace(Role, "create_from_cloudformation_json", classmethod(create))
    replace(Role, "update_from_cloudformation_json", classmethod(update))
    replace(Role, "delete_from_cloudformation_json", classmethod(delete))
