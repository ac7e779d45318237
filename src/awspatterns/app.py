"""Creating the CDK app every example uses: the same context and the cdk-nag gate, wherever it is synthesized.

An example is synthesized two ways: ``cdk synth`` in its folder (the CDK CLI reads ``cdk.json`` and runs
``app.py``) and ``patterns synth`` in one process (:mod:`awspatterns.synth`). Both build the app with
:func:`new_app`, which takes its context (the feature flags) from the example's ``cdk.json``, so both paths
synthesize the same template. Every example's ``cdk.json`` carries exactly the feature flags the installed
aws-cdk-lib recommends (:func:`recommended_feature_flags`; a test checks).
"""

from __future__ import annotations

import os

# jsii prints a Node end-of-life banner when it starts, which happens when aws_cdk is first imported: import this
# module before aws_cdk (examples' app.py do) to keep `cdk synth` quiet on Node 20.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import functools
import json
import tarfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

from awspatterns.sandbox.accounts import ACCOUNTS, DEFAULT_REGION

__all__ = [
    "ACCOUNTS_VARIABLE",
    "account_environments",
    "acknowledge",
    "cdk_context",
    "new_app",
    "recommended_feature_flags",
]

#: The environment variable naming a multi-account example's accounts (``central=111111111111,source-a=...``).
ACCOUNTS_VARIABLE = "AWSPATTERNS_ACCOUNTS"


def new_app(
    directory: Path | None = None, *, outdir: str | None = None, context: dict[str, Any] | None = None
) -> cdk.App:
    """A CDK app with the example's context and the ``AwsSolutionsChecks`` gate (cdk-nag 3.x validation plugin).

    ``app.synth()`` then raises ``ValidationFailed`` when any stack has an unacknowledged finding and writes
    ``validation-report.json`` into the cloud assembly.

    Args:
        directory: the example's folder; the app gets the ``context`` of its ``cdk.json``, as ``cdk synth`` in
            that folder does. Without it (stacks built in tests), the app gets
            :func:`recommended_feature_flags`, which every example's ``cdk.json`` carries.
        outdir: where the cloud assembly goes; by default ``CDK_OUTDIR`` (set by the CDK CLI) or a temp dir.
        context: more context, over the ``cdk.json``'s (what ``cdk synth -c key=value`` adds).
    """
    base = cdk_context(directory) if directory is not None else recommended_feature_flags()
    app = cdk.App(outdir=outdir, context={**base, **(context or {})})
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return app


def cdk_context(directory: Path) -> dict[str, Any]:
    """The ``context`` of ``<directory>/cdk.json``: what the CDK CLI gives the app it runs from that folder."""
    context = json.loads((directory / "cdk.json").read_text()).get("context", {})
    if not isinstance(context, dict):
        raise ValueError(f"{directory / 'cdk.json'}: 'context' must be an object")
    return context


def recommended_feature_flags() -> dict[str, Any]:
    """The feature flags the installed aws-cdk-lib recommends for new projects, as ``cdk init`` writes them.

    Read from ``recommended-feature-flags.json`` in the aws-cdk-lib package that jsii loads, so they follow the
    pinned version.
    """
    return dict(json.loads(_recommended_feature_flags_json()))


@functools.cache
def _recommended_feature_flags_json() -> str:
    version = metadata.version("aws-cdk-lib")
    bundle = resources.files("aws_cdk._jsii") / f"aws-cdk-lib@{version}.jsii.tgz"
    with bundle.open("rb") as stream, tarfile.open(fileobj=stream, mode="r:gz") as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        if member is None:
            raise FileNotFoundError(f"recommended-feature-flags.json is missing from {bundle}")
        return member.read().decode()


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    """Acknowledge cdk-nag findings on ``scope`` and its children, each with the reason it is acceptable.

    Args:
        scope: the construct the findings apply to.
        findings: rule id (granular ids such as ``AwsSolutions-IAM5[Resource::*]`` included) -> reason.
    """
    for rule_id, reason in findings.items():
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def account_environments(scope: IConstruct, names: list[str]) -> dict[str, cdk.Environment]:
    """The environment (account and region) of each account a multi-account example names, e.g. ``central``.

    The accounts come from the context ``accounts`` (``cdk deploy -c accounts=central=111111111111,source-a=...``, or
    a JSON object), else from the ``AWSPATTERNS_ACCOUNTS`` environment variable in the same form, else from the
    sandbox's accounts of those names (``patterns sandbox status --json`` lists them). The region is the context
    ``region``, else the CDK CLI's or the AWS SDK's region, else ``us-east-1``.

    Raises:
        ValueError: a name has no account, or an account is not 12 digits.
    """
    given = scope.node.try_get_context("accounts") or os.environ.get(ACCOUNTS_VARIABLE) or ACCOUNTS
    accounts = given if isinstance(given, dict) else _pairs(str(given))
    region = (
        scope.node.try_get_context("region")
        or os.environ.get("CDK_DEFAULT_REGION")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )
    environments = {}
    for name in names:
        account = str(accounts.get(name, ""))
        if not (account.isdigit() and len(account) == 12):
            raise ValueError(
                f"no account for {name!r}: pass -c accounts={','.join(f'{n}=<account id>' for n in names)} "
                f"or set {ACCOUNTS_VARIABLE} the same way"
            )
        environments[name] = cdk.Environment(account=account, region=region)
    return environments


def _pairs(text: str) -> dict[str, str]:
    if text.strip().startswith("{"):
        return dict(json.loads(text))
    return dict(item.strip().split("=", 1) for item in text.split(",") if "=" in item)
