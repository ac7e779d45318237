"""Drive the ssm-parameters pattern: the consumer finds the database by its parameters; the secret rotates and
the consumer still answers; the database stack is replaced while the consumer stays deployed, and the consumer
reaches the new database as soon as its parameters exist.

Run it with ``patterns run ssm-parameters`` (deploys first if needed), or directly against deployed stacks:
``python client.py`` (uses the stacks' outputs and the usual AWS environment variables). On AWS a replacement
deletes and recreates an Aurora cluster (about 15-25 minutes); ``python client.py --no-replace`` skips it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import boto3

DATABASE_STACK = "SharedDatabase"
STACKS = ("SharedNetwork", DATABASE_STACK, "ParameterConsumer")
#: How long to wait for a rotation or a stack operation (Aurora takes minutes on AWS, seconds in the sandbox).
PATIENCE_S = 45 * 60


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, replace: bool = True) -> dict[str, Any]:
    """Ask the consumer who answers, rotate the database secret and ask again, then (with ``replace``) delete and
    recreate the database stack from its own template while the consumer stays deployed, asking throughout."""
    lambda_, ssm = session.client("lambda"), session.client("ssm")

    def ask() -> dict[str, Any]:
        return _invoke(lambda_, outputs["ConsumerFunctionName"])

    root = outputs["DatabaseParameterPath"].rsplit("/", 1)[0]
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=root, Recursive=True)
    report: dict[str, Any] = {
        "parameters": {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]},
        "first": ask(),
    }

    secrets = session.client("secretsmanager")
    before = _current_version(secrets, outputs["SecretArn"])
    secrets.rotate_secret(SecretId=outputs["SecretArn"])
    after = _wait(lambda: _rotated(secrets, outputs["SecretArn"], before), "the secret's rotation")
    report["rotation"] = {"previous_version": before, "current_version": after, "answer": ask()}

    if replace:
        report["replacement"] = _replace_database(session, ask)
    return report


# --8<-- [end:run]


# --8<-- [start:replace]
def _replace_database(session: boto3.Session, ask: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Delete the database stack and create it again from the template it was deployed with: what a replacement
    (a new engine major version, another account's snapshot, a rebuild) comes down to."""
    cloudformation = session.client("cloudformation")
    template = cloudformation.get_template(StackName=DATABASE_STACK, TemplateStage="Original")["TemplateBody"]
    body = template if isinstance(template, str) else json.dumps(template)
    started = time.monotonic()
    cloudformation.delete_stack(StackName=DATABASE_STACK)
    _wait(lambda: _stack_status(cloudformation, DATABASE_STACK) in (None, "DELETE_COMPLETE"), "the deletion")
    during = ask()
    cloudformation.create_stack(  # no parameters: each defaults to the name of the SSM parameter it reads
        StackName=DATABASE_STACK,
        TemplateBody=body,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],  # the hosted rotation is a transform
    )
    _wait(lambda: _stack_status(cloudformation, DATABASE_STACK) == "CREATE_COMPLETE", "the new database")
    after = ask()
    return {
        "during": during,
        "after": after,
        "downtime_s": round(time.monotonic() - started, 1),
        "consumer_stack_untouched": all(
            _stack_status(cloudformation, name) == "CREATE_COMPLETE" for name in STACKS if name != DATABASE_STACK
        ),
    }


# --8<-- [end:replace]


def _invoke(lambda_: Any, function_name: str) -> dict[str, Any]:
    """The consumer's answer, or its error (type and message) when it could not reach the database."""
    response = lambda_.invoke(FunctionName=function_name, Payload=b"{}")
    payload = json.loads(response["Payload"].read() or b"null")
    if "FunctionError" in response:
        return {"error": payload.get("errorType"), "message": payload.get("errorMessage")}
    return dict(payload)


def _current_version(secrets: Any, secret_arn: str) -> str:
    stages = secrets.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
    return str(next(version for version, labels in stages.items() if "AWSCURRENT" in labels))


def _rotated(secrets: Any, secret_arn: str, before: str) -> str | None:
    """The new current version once the rotation finished (no version pending any more), else ``None``."""
    stages = secrets.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
    current = next(version for version, labels in stages.items() if "AWSCURRENT" in labels)
    pending = any("AWSPENDING" in labels and "AWSCURRENT" not in labels for labels in stages.values())
    return current if current != before and not pending else None


def _stack_status(cloudformation: Any, name: str) -> str | None:
    """The stack's status (``None`` once it is gone); a failed operation raises with CloudFormation's reasons."""
    try:
        status = str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    if status.endswith("_FAILED") or status == "ROLLBACK_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        reasons = "; ".join(e["ResourceStatusReason"] for e in events if e.get("ResourceStatusReason"))
        raise RuntimeError(f"stack {name} is {status}: {reasons}")
    return status


def _wait(done: Callable[[], Any], what: str) -> Any:
    """Poll ``done`` (every second, then every 15 s after a minute) until it gives something truthy."""
    started = time.monotonic()
    while not (result := done()):
        elapsed = time.monotonic() - started
        if elapsed > PATIENCE_S:
            raise TimeoutError(f"gave up waiting for {what} after {elapsed:.0f} s")
        time.sleep(1 if elapsed < 60 else 15)
    return result


# --8<-- [start:format]
def format_report(report: dict[str, Any]) -> str:
    """The story in words."""
    first, rotation = report["first"], report["rotation"]
    lines = [
        f"Parameter Store holds {len(report['parameters'])} shared identifiers, e.g.:",
        *(f"  {name} = {value}" for name, value in sorted(report["parameters"].items())[:4]),
        f"The consumer found the database by its parameters: {first['database']} as {first['user']} "
        f"({first['version']}), cluster {first['cluster_resource_id']}.",
        f"The secret rotated (version {rotation['previous_version'][:8]} -> {rotation['current_version'][:8]}); "
        f"the consumer still answers: {'yes' if 'database' in rotation['answer'] else rotation['answer']}.",
    ]
    replacement = report.get("replacement")
    if replacement:
        during, after = replacement["during"], replacement["after"]
        lines += [
            "The database stack was deleted while the consumer stayed deployed (with exports, CloudFormation "
            "would have refused: the consumer imports them).",
            f"While it was gone the consumer answered: {during.get('error')}: {during.get('message')}",
            f"Recreated, it is a new cluster ({after.get('cluster_resource_id')}); the consumer reached it with no "
            f"redeploy. Downtime, deletion to first answer: {replacement['downtime_s']} s.",
        ]
    return "\n".join(lines)


# --8<-- [end:format]


if __name__ == "__main__":
    session = boto3.Session()
    cloudformation = session.client("cloudformation")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for name in STACKS
        for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    }
    print(format_report(run(outputs, session, replace="--no-replace" not in sys.argv)))
