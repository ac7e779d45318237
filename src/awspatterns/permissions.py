"""Permissions granted beside permissions used: for each function of a deployed pattern, the actions its
execution role allows and the calls an end-to-end run actually made with it (the sandbox's permission record);
likewise for each role another service works with (a Firehose delivery role, a log subscription's role).

Pattern pages embed the Markdown this writes (``docs/permissions/<slug>.md``), so a reader sees where a grant is
broader than the code needs. Resource names are shown by their logical id in the template (``<ObjectRecords>``),
account ids as ``ACCOUNT``, object keys as ``*`` and stream labels as ``<label>``, so the page does not change
from run to run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awspatterns import REPO_ROOT
from awspatterns.files import write_text_atomically

__all__ = ["PERMISSIONS_DIR", "FunctionPermissions", "collect", "render_markdown", "write_permissions"]

#: Where the end-to-end runs write each pattern's record (``<slug>.json`` and ``<slug>.md``).
PERMISSIONS_DIR = REPO_ROOT / "docs" / "permissions"
#: Actions Lambda itself performs with the execution role (writing logs and traces, polling a queue or stream,
#: sending to a destination): no call of the function's code appears for them in the record.
SERVICE_ACTIONS = (
    "logs:",
    "xray:",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
    "sns:Publish",
    "kinesis:",
)
#: Lambda reads a table's stream with these, granted on the stream (``table/T/stream/*``), not on the table.
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")


@dataclass
class FunctionPermissions:
    """One function: what its role grants and what the run used."""

    function: str
    granted: dict[str, set[str]] = field(default_factory=dict)
    used: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The service that assumes the role when it is not a function's execution role (``firehose.amazonaws.com``).
    service: str = ""

    def rows(self) -> list[tuple[str, str, str]]:
        """``(action, granted on, used in the run)`` for every action granted or used, sorted."""
        rows = []
        for action in sorted(set(self.granted) | set(self.used)):
            granted = ", ".join(sorted(self.granted.get(action, set()))) or "**not granted**"
            used = self.used.get(action, {})
            if used:
                shown = ", ".join(f"{resource} ({decision})" for resource, decision in sorted(used.items()))
            elif (not self.service and action.startswith(SERVICE_ACTIONS)) or (
                action in STREAM_ACTIONS and any("/stream/" in r for r in self.granted.get(action, ()))
            ):
                shown = "for the Lambda service (logs, traces, event source or destination)"
            else:
                shown = "not used in the run"
            rows.append((action, granted, shown))
        return rows


def collect(session: Any, stack_names: list[str], record: dict[str, list[dict[str, Any]]]) -> list[FunctionPermissions]:
    """Each function of the stacks with its role's grants (from IAM) and its recorded calls (``record`` is the
    sandbox's ``permissions()`` for the account)."""
    cloudformation, lambda_, iam = (session.client(s) for s in ("cloudformation", "lambda", "iam"))
    names: dict[str, str] = {}
    functions: list[tuple[str, str]] = []
    roles: list[tuple[str, str]] = []
    for stack in stack_names:
        for resource in cloudformation.describe_stack_resources(StackName=stack)["StackResources"]:
            if "PhysicalResourceId" not in resource or resource["ResourceType"].endswith("Policy"):
                continue  # moto gives none for some types; a policy's id is the resource it governs
            physical = resource["PhysicalResourceId"]
            names[physical.rstrip("/").rsplit("/", 1)[-1] if physical.startswith("http") else physical] = resource[
                "LogicalResourceId"
            ]  # a queue's physical id is its URL; ARNs name the queue
            if resource["ResourceType"] == "AWS::Lambda::Function":
                functions.append((resource["LogicalResourceId"], resource["PhysicalResourceId"]))
            elif resource["ResourceType"] == "AWS::IAM::Role":
                roles.append((resource["LogicalResourceId"], resource["PhysicalResourceId"]))
    account = session.client("sts").get_caller_identity()["Account"]
    result = []
    for logical_id, physical_id in sorted(functions):
        role_arn = lambda_.get_function(FunctionName=physical_id)["Configuration"]["Role"]
        entry = FunctionPermissions(_readable(logical_id))
        for statement in _role_statements(iam, role_arn.rsplit("/", 1)[-1]):
            for action in _listed(statement.get("Action")):
                for resource in _listed(statement.get("Resource")):
                    entry.granted.setdefault(action, set()).add(_normalise(str(resource), names, account))
        for call in record.get(role_arn, []):
            entry.used.setdefault(call["action"], {})[_normalise(call["resource"], names, account)] = call["decision"]
        result.append(entry)
    execution_roles = _function_roles(lambda_, functions)
    for logical_id, role_name in sorted(roles):
        role = iam.get_role(RoleName=role_name)["Role"]
        service = _service_of(role)
        if not service or role["Arn"] in execution_roles:
            continue
        entry = FunctionPermissions(f"{_readable(logical_id)} (assumed by {service})", service=service)
        for statement in _role_statements(iam, role_name):
            for action in _listed(statement.get("Action")):
                for resource in _listed(statement.get("Resource")):
                    entry.granted.setdefault(action, set()).add(_normalise(str(resource), names, account))
        for call in record.get(role["Arn"], []):
            entry.used.setdefault(call["action"], {})[_normalise(call["resource"], names, account)] = call["decision"]
        result.append(entry)
    return result


def _service_of(role: dict[str, Any]) -> str:
    """The one AWS service other than Lambda that a role's trust policy admits, or ``""``."""
    document = role["AssumeRolePolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    services = {
        service
        for statement in _listed(document.get("Statement"))
        for service in _listed((statement.get("Principal") or {}).get("Service"))
    }
    return next(iter(services)) if len(services) == 1 and "lambda.amazonaws.com" not in services else ""


def _function_roles(lambda_: Any, functions: list[tuple[str, str]]) -> set[str]:
    return {lambda_.get_function(FunctionName=physical)["Configuration"]["Role"] for _, physical in functions}


def render_markdown(functions: list[FunctionPermissions]) -> str:
    """One table per function: action, where it is granted, what the run used."""
    parts = []
    for entry in functions:
        parts += [f"**{entry.function}**", "", "| Action | Granted on | Used in the end-to-end run |", "|---|---|---|"]
        parts += [f"| `{action}` | {granted} | {used} |" for action, granted, used in entry.rows()]
        parts.append("")
    return "\n".join(parts)


def write_permissions(slug: str, functions: list[FunctionPermissions], out_dir: Path = PERMISSIONS_DIR) -> Path:
    """Write ``<slug>.json`` and the ``<slug>.md`` the pattern's page embeds; return the Markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = [
        {"function": f.function, "granted": {a: sorted(r) for a, r in sorted(f.granted.items())}, "used": f.used}
        for f in functions
    ]
    write_text_atomically(out_dir / f"{slug}.json", json.dumps(data, indent=2, sort_keys=True) + "\n")
    markdown = out_dir / f"{slug}.md"
    write_text_atomically(markdown, render_markdown(functions))
    return markdown


def _role_statements(iam: Any, role: str) -> list[dict[str, Any]]:
    documents = [
        iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        documents.append(version["PolicyVersion"]["Document"])
    statements = []
    for document in documents:
        document = json.loads(document) if isinstance(document, str) else document
        statements += [s for s in _listed(document.get("Statement")) if s.get("Effect") == "Allow"]
    return statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _readable(logical_id: str) -> str:
    """A logical id without CDK's hash suffix (``IndexerA1B2C3D4`` -> ``Indexer``)."""
    return re.sub(r"[0-9A-F]{8}$", "", logical_id)


def _normalise(resource: str, names: dict[str, str], account: str) -> str:
    """A resource ARN with physical names replaced by ``<LogicalId>``, the account by ``ACCOUNT``, object keys
    under a bucket collapsed to ``*``, and what AWS generates masked: a table stream's label (its creation time)
    becomes ``<label>``, a secret's random suffix ``??????``, EC2 ids ``sg-*``, and any other account (the tests
    deploy into fresh ones) ``OTHER-ACCOUNT``."""
    for physical, logical in sorted(names.items(), key=lambda item: -len(item[0])):
        if len(physical) > 8 and physical in resource:
            resource = resource.replace(physical, f"<{_readable(logical)}>")
    resource = resource.replace(account, "ACCOUNT")
    resource = re.sub(r"^(arn:aws:[a-z0-9-]+:[a-z0-9-]*:)\d{12}(?=:)", r"\1OTHER-ACCOUNT", resource)  # fresh per run
    resource = re.sub(r"^(arn:aws:dynamodb:.+/stream/).+$", r"\1<label>", resource)
    resource = re.sub(r"(:secret:[^:]+)-[A-Za-z0-9]{6}$", r"\1-??????", resource)  # a secret's random suffix
    resource = re.sub(r"\b(sg|subnet|vpc|vpce|eni)-[0-9a-f]{8,17}\b", r"\1-*", resource)  # ids EC2 generates
    return re.sub(r"^(arn:aws:s3:::[^/]+)/.+$", r"\1/*", resource)
