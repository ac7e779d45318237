"""What a request needs authorized: the IAM action(s) and resource ARN(s), per service, from its parameters.

Each service has a resolver; operations whose IAM action is named differently are in :data:`ACTIONS`. A request
may need several authorizations (a DynamoDB batch across tables, a transaction's items, a Lambda function created
with a role needs ``iam:PassRole``, the Data API reads the caller's secret). Operations AWS authorizes without a
resource, and services without a resolver, are authorized on ``*``. S3 is resolved in :mod:`s3`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from moto.iam.models import iam_backends
from moto.kinesis import utils as kinesis_utils
from moto.kms import utils as kms_utils
from moto.kms.models import KmsBackend, kms_backends
from moto.secretsmanager.models import SecretsStore, secretsmanager_backends

from awspatterns.sandbox.iam.requests import Check, Request
from awspatterns.sandbox.subsystem import Patched

__all__ = ["ACTIONS", "MOTO_READS", "RESOLVERS", "checks_for"]

#: The moto internals resources are found with (read, never replaced; the canary tests check each exists).
MOTO_READS: Patched = (
    (kinesis_utils, "decompose_shard_iterator"),
    (kms_utils, "_deserialize_ciphertext_blob"),
    (KmsBackend, "get_key_id_from_alias"),
    (SecretsStore, "get"),
)

#: (IAM prefix, operation) -> IAM action name, where they differ.
ACTIONS = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("sns", "PublishBatch"): "Publish",
}

Resolver = Callable[[Request, str], list[Check]]


def _one(action: str, resource: str | None) -> list[Check]:
    return [Check(action, resource or "*")]


def _name(value: str) -> str:
    """The name in an ARN's resource part (``table/T`` -> ``T``), or the value itself."""
    return value.rsplit("/", 1)[-1].rsplit(":", 1)[-1] if value.startswith("arn:") else value


# ------------------------------------------------------------------ messaging
def _sqs(r: Request, action: str) -> list[Check]:
    url = r.param("QueueUrl")
    if url:
        parts = [p for p in str(url).split("?")[0].split("/") if p]
        account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else r.account
        return _one(action, r.arn("sqs", parts[-1], account=account))
    path = [p for p in r.path.split("/") if p]
    if len(path) == 2 and path[0].isdigit():  # the query protocol may address the queue by path alone
        return _one(action, r.arn("sqs", path[1], account=path[0]))
    if r.operation in ("CreateQueue", "GetQueueUrl"):
        owner = r.param("QueueOwnerAWSAccountId") or r.account
        return _one(action, r.arn("sqs", str(r.param("QueueName")), account=str(owner)))
    return _one(action, r.param("SourceArn"))


def _sns(r: Request, action: str) -> list[Check]:
    if r.operation == "CreateTopic":
        return _one(action, r.arn("sns", str(r.param("Name"))))
    topic = r.param("TopicArn") or r.param("TargetArn") or r.param("ResourceArn")
    subscription = r.param("SubscriptionArn")
    if not topic and subscription:
        topic = str(subscription).rsplit(":", 1)[0]
    return _one(action, topic)


# ------------------------------------------------------------------ data
def _table(r: Request, table: str, index: str | None = None) -> str:
    arn = table if table.startswith("arn:") else r.arn("dynamodb", f"table/{table}")
    return f"{arn}/index/{index}" if index else arn


PARTIQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|EXISTS)\b.*?(?:FROM|INTO|UPDATE)\s+\"?([\w.-]+)", re.I | re.S)


def _dynamodb(r: Request, action: str) -> list[Check]:
    items = r.param("RequestItems")
    if isinstance(items, dict):
        return [Check(action, _table(r, table)) for table in items]
    transact = r.param("TransactItems")
    if isinstance(transact, list):
        checks = []
        kinds = {"Get": "GetItem", "Put": "PutItem", "Delete": "DeleteItem", "Update": "UpdateItem"}
        for item in transact:
            for kind, body in item.items():
                name = kinds.get(kind, "ConditionCheckItem")
                checks.append(Check(f"dynamodb:{name}", _table(r, str(body.get("TableName")))))
        return checks
    statements = r.param("Statements") or ([{"Statement": r.param("Statement")}] if r.param("Statement") else [])
    if statements:
        checks = []
        for entry in statements:
            match = PARTIQL.match(str(entry.get("Statement", "")))
            verb = match.group(1).capitalize() if match else "Select"
            table = match.group(2) if match else "*"
            checks.append(Check(f"dynamodb:PartiQL{'Select' if verb == 'Exists' else verb}", _table(r, table)))
        return checks
    if r.param("StreamArn"):
        return _one(action, r.param("StreamArn"))
    if r.param("ShardIterator"):
        return _one(action, str(r.param("ShardIterator")).split("|", 1)[0])  # moto's iterators start with the stream
    table = r.param("TableName")
    if table:
        return _one(action, _table(r, str(table), r.param("IndexName")))
    return _one(action, r.param("ResourceArn"))


def _kinesis(r: Request, action: str) -> list[Check]:
    arn = r.param("StreamARN") or r.param("ConsumerARN") or r.param("ResourceARN")
    name = r.param("StreamName")
    if not arn and not name and r.param("ShardIterator"):
        try:
            name = kinesis_utils.decompose_shard_iterator(str(r.param("ShardIterator")))[0]
        except Exception:  # not one of moto's iterators: Kinesis answers it as invalid
            name = None
    return _one(action, arn or (r.arn("kinesis", f"stream/{name}") if name else None))


def _firehose(r: Request, action: str) -> list[Check]:
    name = r.param("DeliveryStreamName")
    return _one(action, r.arn("firehose", f"deliverystream/{name}") if name else r.param("DeliveryStreamARN"))


def _secret(r: Request, secret_id: str) -> str:
    if secret_id.startswith("arn:"):
        return secret_id
    secret = secretsmanager_backends[r.account][r.region].secrets.get(secret_id)
    return secret.arn if secret is not None else r.arn("secretsmanager", f"secret:{secret_id}")


def _secretsmanager(r: Request, action: str) -> list[Check]:
    secret_id = r.param("SecretId") or r.param("Name")
    return _one(action, _secret(r, str(secret_id)) if secret_id else None)


def _ssm(r: Request, action: str) -> list[Check]:
    names = r.params("Name", "Names", "Path")
    if not names:
        return _one(action, r.param("ResourceArn"))
    return [
        Check(action, n if n.startswith("arn:") else r.arn("ssm", f"parameter/{n.removeprefix('/')}")) for n in names
    ]


def _rds_data(r: Request, action: str) -> list[Check]:
    checks = _one(action, r.param("resourceArn"))
    if r.param("secretArn"):  # the Data API reads the secret with the caller's credentials
        checks.append(Check("secretsmanager:GetSecretValue", _secret(r, str(r.param("secretArn")))))
    return checks


# ------------------------------------------------------------------ compute and events
def _function(r: Request, name: str, qualifier: Any = None) -> str:
    if name.startswith("arn:"):
        parts = name.split(":")
        base, own = ":".join(parts[:7]), parts[7] if len(parts) > 7 else None
    else:
        account, _, rest = name.rpartition(":function:") if ":function:" in name else ("", "", name)
        function, _, own_qualifier = rest.partition(":")
        base, own = r.arn("lambda", f"function:{function}", account=account or None), own_qualifier or None
    qualifier = own or qualifier
    return f"{base}:{qualifier}" if qualifier else base


def _lambda(r: Request, action: str) -> list[Check]:
    function = r.param("FunctionName")
    checks: list[Check]
    if function:
        checks = _one(action, _function(r, str(function), r.param("Qualifier")))
    elif r.param("UUID"):
        checks = _one(action, r.arn("lambda", f"event-source-mapping:{r.param('UUID')}"))
    elif r.param("LayerName"):
        version = r.param("VersionNumber")
        layer = f"layer:{_name(str(r.param('LayerName')))}" + (f":{version}" if version else "")
        checks = _one(action, r.arn("lambda", layer))
    else:
        checks = _one(action, r.param("Resource"))
    if r.operation in ("CreateFunction", "UpdateFunctionConfiguration") and r.param("Role"):
        checks.append(Check("iam:PassRole", str(r.param("Role"))))
    return checks


def _bus(r: Request, bus: Any) -> str:
    bus = str(bus or "default")
    return bus if bus.startswith("arn:") else r.arn("events", f"event-bus/{bus}")


#: EventBridge resources named by a ``Name`` (or ``ArchiveName``) parameter, by the operation's last word.
EVENTS_NAMED = {"Archive": ("archive", "ArchiveName"), "Connection": ("connection", "Name")}
EVENTS_NAMED["ApiDestination"] = ("api-destination", "Name")
RULE_OPERATIONS = {"PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule"}
TARGET_OPERATIONS = {"PutTargets", "RemoveTargets", "ListTargetsByRule"}


def _events(r: Request, action: str) -> list[Check]:
    entries = r.param("Entries")
    if r.operation == "PutEvents" and isinstance(entries, list):
        return [Check(action, bus) for bus in dict.fromkeys(_bus(r, e.get("EventBusName")) for e in entries)]
    bus = r.param("EventBusName")
    rule = r.param("Name") if r.operation in RULE_OPERATIONS else r.param("Rule")
    if rule and (r.operation in RULE_OPERATIONS or r.operation in TARGET_OPERATIONS):
        bus_name = _name(str(bus)) if bus else "default"
        return _one(action, r.arn("events", f"rule/{rule}" if bus_name == "default" else f"rule/{bus_name}/{rule}"))
    for suffix, (kind, param) in EVENTS_NAMED.items():
        if r.operation.endswith(suffix) and r.param(param):
            return _one(action, r.arn("events", f"{kind}/{r.param(param)}"))
    if "EventBus" in r.operation or r.operation in ("PutPermission", "RemovePermission", "ListRules"):
        return _one(action, _bus(r, bus or r.param("Name")))
    return _one(action, r.param("ResourceARN"))


def _logs(r: Request, action: str) -> list[Check]:
    group = r.param("logGroupName") or r.param("logGroupIdentifier")
    names = r.params("logGroupNames", "logGroupIdentifiers")
    if not group and not names:
        if r.operation == "DescribeLogGroups":
            return _one(action, r.arn("logs", "log-group::log-stream:"))
        return _one(action, r.param("resourceArn"))
    stream = r.param("logStreamName") or ""
    checks = []
    for name in [str(group)] if group else names:
        if name.startswith("arn:"):
            name = name.split(":log-group:", 1)[1].removesuffix(":*")
        checks.append(Check(action, r.arn("logs", f"log-group:{name}:log-stream:{stream}")))
    return checks


def _kms_key(r: Request, key: str) -> str:
    if key.startswith("arn:") and ":key/" in key:
        return key
    backend = kms_backends[r.account][r.region]
    alias = key.split(":", 5)[5] if key.startswith("arn:") else key
    key_id = backend.get_key_id_from_alias(alias) if alias.startswith("alias/") else key
    return r.arn("kms", f"key/{key_id}") if key_id else r.arn("kms", alias)


def _kms(r: Request, action: str) -> list[Check]:
    key = r.param("KeyId") or r.param("TargetKeyId")
    if not key and r.param("CiphertextBlob"):
        blob = r.param("CiphertextBlob")
        try:
            blob = blob if isinstance(blob, bytes) else base64.b64decode(str(blob))
            key = kms_utils._deserialize_ciphertext_blob(blob).key_id
        except Exception:  # not one of moto's ciphertexts: KMS answers it as invalid
            key = None
    checks = _one(action, _kms_key(r, str(key)) if key else None)
    if r.operation in ("CreateAlias", "UpdateAlias", "DeleteAlias") and r.param("AliasName"):
        checks.append(Check(action, r.arn("kms", str(r.param("AliasName")))))
    if r.operation == "ReEncrypt" and r.param("DestinationKeyId"):
        checks = [Check("kms:ReEncryptFrom", checks[0].resource)]
        checks.append(Check("kms:ReEncryptTo", _kms_key(r, str(r.param("DestinationKeyId")))))
    return checks


# ------------------------------------------------------------------ identity and monitoring
def _iam_entity(r: Request, action: str) -> list[Check]:
    backend = iam_backends[r.account][r.partition]
    if r.param("RoleName"):
        role = next((x for x in backend.roles.values() if x.name == r.param("RoleName")), None)
        path = r.param("Path") or "/"
        return _one(action, role.arn if role else r.arn("iam", f"role{path}{r.param('RoleName')}", region=False))
    for param, kind in (("UserName", "user"), ("GroupName", "group"), ("InstanceProfileName", "instance-profile")):
        if r.param(param):
            return _one(action, r.arn("iam", f"{kind}{r.param('Path') or '/'}{r.param(param)}", region=False))
    return _one(action, r.param("PolicyArn"))


def _sts(r: Request, action: str) -> list[Check]:
    return _one(action, r.param("RoleArn"))


def _cloudwatch(r: Request, action: str) -> list[Check]:
    alarms = r.params("AlarmName", "AlarmNames")
    if alarms:
        return [Check(action, r.arn("cloudwatch", f"alarm:{name}")) for name in alarms]
    dashboards = r.params("DashboardName", "DashboardNames")
    if dashboards:
        return [Check(action, r.arn("cloudwatch", f"dashboard/{name}", region=False)) for name in dashboards]
    return _one(action, r.param("ResourceARN"))


def _apigateway(r: Request, action: str) -> list[Check]:
    return [Check(f"apigateway:{r.method}", f"arn:{r.partition}:apigateway:{r.region}::{r.path}")]


def _cloudformation(r: Request, action: str) -> list[Check]:
    stack = r.param("StackName")
    if stack and not str(stack).startswith("arn:"):
        stack = r.arn("cloudformation", f"stack/{stack}/*")
    return _one(action, stack)


#: IAM service prefix -> how to find what its requests need authorized.
RESOLVERS: dict[str, Resolver] = {
    "sqs": _sqs,
    "sns": _sns,
    "dynamodb": _dynamodb,
    "kinesis": _kinesis,
    "firehose": _firehose,
    "secretsmanager": _secretsmanager,
    "ssm": _ssm,
    "rds-data": _rds_data,
    "lambda": _lambda,
    "events": _events,
    "logs": _logs,
    "kms": _kms,
    "iam": _iam_entity,
    "sts": _sts,
    "cloudwatch": _cloudwatch,
    "apigateway": _apigateway,
    "cloudformation": _cloudformation,
}


def checks_for(request: Request) -> list[Check]:
    """Every authorization ``request`` needs (one at least)."""
    action = f"{request.service}:{ACTIONS.get((request.service, request.operation), request.operation)}"
    resolver = RESOLVERS.get(request.service)
    return resolver(request, action) if resolver else [Check(action, "*")]
