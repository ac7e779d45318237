"""The assembly deployer (the sandbox target's fast path): publishes a cloud assembly's assets and creates its
stacks through the CloudFormation API, without the CDK CLI.

It does what ``cdk deploy`` does, minus what the sandbox does not need (roles to assume, change sets, Docker
images): bootstrap resources, file assets zipped into the bootstrap bucket, stacks created in dependency order. A
stack synthesized for a given account (``env``) deploys into that account, through the session ``session_for``
gives for it, as ``cdk deploy`` uses that account's credentials.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from awspatterns.errors import PatternsError
from awspatterns.targets.assembly import StackArtifact, stacks_in_order
from awspatterns.targets.base import delete_function_log_groups, stack_function_names

__all__ = [
    "DeployError",
    "SessionFor",
    "bootstrap",
    "deploy_assembly",
    "deploy_stack",
    "destroy_assembly",
    "destroy_stacks",
    "publish_assets",
]

#: ``session_for(account)``: a session for one account, for the stacks synthesized for it.
SessionFor = Callable[[str], Any]

BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"
#: CloudFormation's limit for ``TemplateBody``; a larger template must come from S3 (``TemplateURL``).
MAX_INLINE_TEMPLATE_BYTES = 51_200
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}


class DeployError(PatternsError):
    """A stack could not be deployed or destroyed; the message gives CloudFormation's reasons."""


def bootstrap(session: Any) -> str:
    """Create the CDK bootstrap bucket and version parameter if missing; return the bucket name."""
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{session.region_name}"
    s3 = session.client("s3")
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    session.client("ssm").put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
    )
    return bucket


def publish_assets(session: Any, stack: StackArtifact) -> int:
    """Upload a stack's file assets (directories zipped, as CDK does); return how many were uploaded."""
    if stack.assets_file is None:
        return 0
    account = session.client("sts").get_caller_identity()["Account"]
    manifest = json.loads(stack.assets_file.read_text())
    s3 = session.client("s3")
    count = 0
    for asset in manifest.get("files", {}).values():
        source = stack.assets_file.parent / asset["source"]["path"]
        body = _zip_directory(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(
                Bucket=_substitute(destination["bucketName"], account, session.region_name),
                Key=_substitute(destination["objectKey"], account, session.region_name),
                Body=body,
            )
            count += 1
    if manifest.get("dockerImages"):
        raise DeployError(f"{stack.name} has Docker image assets, which the sandbox cannot build (no Docker here)")
    return count


def deploy_stack(session: Any, stack: StackArtifact, bucket: str) -> dict[str, str]:
    """Create (or update) one stack and return its outputs; a template too large to send inline goes through the
    bootstrap ``bucket``, as ``cdk deploy`` does."""
    cloudformation = session.client("cloudformation")
    body = stack.template_file.read_text()
    template = _template_argument(session, stack, body, bucket)
    existing = _describe(cloudformation, stack.name)
    _refuse_concurrent(stack.name, existing)
    if existing and existing["StackStatus"] in {"ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED"}:
        cloudformation.delete_stack(StackName=stack.name)
        existing = None
    capabilities = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    try:
        if existing is None:
            cloudformation.create_stack(StackName=stack.name, Capabilities=capabilities, **template)
        elif cloudformation.get_template(StackName=stack.name)["TemplateBody"] != json.loads(body):
            cloudformation.update_stack(StackName=stack.name, Capabilities=capabilities, **template)
    except cloudformation.exceptions.AlreadyExistsException as error:
        raise DeployError(
            f"another deploy created stack {stack.name} at the same time; wait for it to finish, then deploy again"
        ) from error
    described = _describe(cloudformation, stack.name)
    _refuse_concurrent(stack.name, described)
    if described is None or described["StackStatus"] not in DONE:
        raise DeployError(f"stack {stack.name} failed: {_failure_reasons(cloudformation, stack.name)}")
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def deploy_assembly(
    session: Any, assembly_dir: Path, progress: Any = print, session_for: SessionFor | None = None
) -> dict[str, dict[str, str]]:
    """Deploy every stack of a cloud assembly; return outputs by stack name. Environment-agnostic stacks go to
    ``session``'s account, a stack for a given account to ``session_for(account)`` (required then)."""
    sessions: dict[str | None, tuple[Any, str]] = {}  # per account: its session and bootstrap bucket
    outputs = {}
    for stack in stacks_in_order(assembly_dir):
        if stack.account not in sessions:
            stack_session = _session_of(stack, session, session_for)
            sessions[stack.account] = (stack_session, bootstrap(stack_session))
        stack_session, bucket = sessions[stack.account]
        assets = publish_assets(stack_session, stack)
        where = f" in account {stack.account}" if stack.account else ""
        progress(f"  {stack.name}: {assets} asset(s) published, creating stack{where} ...")
        outputs[stack.name] = deploy_stack(stack_session, stack, bucket)
    return outputs


def destroy_assembly(
    session: Any, assembly_dir: Path, progress: Any = print, session_for: SessionFor | None = None
) -> None:
    """Delete every stack of a cloud assembly, dependents first, each in the account it was deployed to."""
    for stack in reversed(stacks_in_order(assembly_dir)):
        destroy_stacks(_session_of(stack, session, session_for), [stack.name], progress)


def _session_of(stack: StackArtifact, session: Any, session_for: SessionFor | None) -> Any:
    if stack.account is None:
        return session
    if session_for is None:
        raise DeployError(f"{stack.name} is for account {stack.account}, and no session for that account was given")
    return session_for(stack.account)


def destroy_stacks(session: Any, stack_names: list[str], progress: Any = print) -> None:
    """Delete stacks (dependents first, so pass them in deployment order) and their functions' log groups."""
    cloudformation = session.client("cloudformation")
    for name in reversed(stack_names):
        if _describe(cloudformation, name) is None:
            progress(f"  {name}: not deployed")
            continue
        functions = stack_function_names(session, name)
        cloudformation.delete_stack(StackName=name)
        remaining = _describe(cloudformation, name)
        if remaining is not None and remaining["StackStatus"] != "DELETE_COMPLETE":
            raise DeployError(f"stack {name} could not be deleted: {_failure_reasons(cloudformation, name)}")
        delete_function_log_groups(session, functions)
        progress(f"  {name}: deleted")


def _template_argument(session: Any, stack: StackArtifact, body: str, bucket: str) -> dict[str, str]:
    """``TemplateBody`` when CloudFormation accepts the template inline, else a ``TemplateURL`` in ``bucket``."""
    if len(body.encode()) <= MAX_INLINE_TEMPLATE_BYTES:
        return {"TemplateBody": body}
    key = f"cdk/templates/{stack.name}-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"https://s3.{session.region_name}.amazonaws.com/{bucket}/{key}"}


def _refuse_concurrent(name: str, described: dict[str, Any] | None) -> None:
    """A stack still in progress belongs to another deploy or destroy running now: say so, instead of reading
    its unfinished state as a failure."""
    if described is not None and described["StackStatus"].endswith("_IN_PROGRESS"):
        raise DeployError(
            f"another deploy of {name} is in progress ({described['StackStatus']}); wait for it to finish, "
            "then deploy again"
        )


def _describe(cloudformation: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def _failure_reasons(cloudformation: Any, name: str) -> str:
    try:
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    except Exception:
        return "no stack events available"
    reasons = [e.get("ResourceStatusReason") for e in events if "FAILED" in e.get("ResourceStatus", "")]
    return "; ".join(dict.fromkeys(r for r in reasons if r)) or "no reason recorded"


def _substitute(text: str, account: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws")
    )


def _zip_directory(directory: Path) -> bytes:
    """A deterministic zip of a directory, like CDK's asset packaging."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(path.relative_to(directory)).replace(os.sep, "/"), (1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
