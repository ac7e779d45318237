"""Where a resource's policy lives in moto: bucket, queue, topic, function and key policies, found from the ARN a
check names, with the account that owns the resource.

Documents are handed to the parse cache as the objects moto keeps (a bucket's bytes, a queue's or topic's dict, a
key's text), so each version is parsed once. A function's policy is a list moto changes in place; its document is
rebuilt when the policy's revision changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaStorage
from moto.awslambda.policy import Policy as LambdaPolicy
from moto.awslambda.utils import get_backend as lambda_backend
from moto.kms.models import Key, KmsBackend, kms_backends
from moto.s3.models import FakeBucket, s3_backends
from moto.sns.models import Topic, sns_backends
from moto.sqs.models import Queue, sqs_backends

from awspatterns.sandbox.iam.principals import PolicySource
from awspatterns.sandbox.subsystem import Reads

__all__ = ["POLICY_SERVICES", "READS", "ResourcePolicies", "ResourcePolicy"]

#: The moto state resource policies are read from (checked by the canary tests).
READS: Reads = (
    (FakeBucket, "policy"),
    (FakeBucket, "account_id"),
    (Queue, "_policy_json"),
    (Topic, "_policy_json"),
    (LambdaBackend, "_lambdas"),
    (LambdaStorage, "_functions"),
    (LambdaPolicy, "statements"),
    (LambdaPolicy, "revision"),
    (KmsBackend, "keys"),
    (Key, "policy"),
    (Topic, "kms_master_key_id"),
    (Queue, "kms_master_key_id"),
)

#: IAM service prefixes whose resources carry a policy the sandbox evaluates.
POLICY_SERVICES = frozenset({"s3", "sqs", "sns", "lambda", "kms"})


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource's policy (``None`` when it has none) and the account that owns the resource."""

    owner: str
    source: PolicySource | None


class ResourcePolicies:
    """Finds the policy of the resource a check names."""

    def __init__(self) -> None:
        # function ARN -> (policy revision, the document built for it)
        self._functions: dict[str, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def find(self, service: str, resource: str, request_account: str) -> ResourcePolicy | None:
        """The policy of ``resource`` (an ARN a check names), or ``None`` when it is not a resource that exists
        and can carry one."""
        if service not in POLICY_SERVICES or not resource.startswith("arn:"):
            return None
        parts = resource.split(":", 5)
        if len(parts) < 6:
            return None
        region, account, rest = parts[3], parts[4], parts[5]
        try:
            if service == "s3":
                return self._bucket(rest.split("/", 1)[0], parts[1], request_account)
            if service == "sqs":
                queue = sqs_backends[account][region].queues.get(rest)
                return None if queue is None else _found(account, resource, queue._policy_json, "queue")
            if service == "sns":
                topic = sns_backends[account][region].topics.get(resource)
                return None if topic is None else _found(account, resource, topic._policy_json, "topic")
            if service == "lambda" and rest.startswith("function:"):
                return self._function(account, region, rest.split(":")[1])
            if service == "kms" and rest.startswith("key/"):
                key = kms_backends[account][region].keys.get(rest[4:])
                return None if key is None else ResourcePolicy(account, _source(key.arn, key.policy, "key"))
        except KeyError:  # an account or region moto has no backend for: no such resource
            return None
        return None

    def _bucket(self, name: str, partition: str, request_account: str) -> ResourcePolicy | None:
        owner = s3_backends.bucket_accounts.get(name, (partition, request_account))[1]
        bucket = s3_backends[owner][partition].buckets.get(name)
        if bucket is None:
            return None
        return ResourcePolicy(bucket.account_id, _source(f"arn:{partition}:s3:::{name}", bucket.policy, "bucket"))

    def _function(self, account: str, region: str, name: str) -> ResourcePolicy | None:
        versions = lambda_backend(account, region)._lambdas._functions.get(name)
        if not versions:
            return None
        function = versions["latest"]
        policy = function.policy
        if not policy.statements:
            return ResourcePolicy(account, None)
        cached = self._functions.get(function.function_arn)
        if cached is None or cached[0] != policy.revision:
            cached = (policy.revision, {"Version": "2012-10-17", "Statement": list(policy.statements)})
            with self._lock:
                self._functions[function.function_arn] = cached
        return ResourcePolicy(account, PolicySource(f"function policy of {function.function_arn}", cached[1]))


def _source(arn: str, document: Any, kind: str) -> PolicySource | None:
    return PolicySource(f"{kind} policy of {arn}", document) if document else None


def _found(account: str, arn: str, document: dict[str, Any], kind: str) -> ResourcePolicy:
    return ResourcePolicy(account, _source(arn, document, kind) if document.get("Statement") else None)
