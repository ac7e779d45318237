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

__all__ = ["acknowledge", "cdk_context", "new_app", "recommended_feature_flags"]


def new_app(directory: Path | None = None, *, outdir: str | None = None) -> cdk.App:
    """A CDK app with the example's context and the ``AwsSolutionsChecks`` gate (cdk-nag 3.x validation plugin).

    ``app.synth()`` then raises ``ValidationFailed`` when any stack has an unacknowledged finding and writes
    ``validation-report.json`` into the cloud assembly.

    Args:
        directory: the example's folder; the app gets the ``context`` of its ``cdk.json``, as ``cdk synth`` in
            that folder does. Without it (stacks built in tests), the app gets
            :func:`recommended_feature_flags`, which every example's ``cdk.json`` carries.
        outdir: where the cloud assembly goes; by default ``CDK_OUTDIR`` (set by the CDK CLI) or a temp dir.
    """
    context = cdk_context(directory) if directory is not None else recommended_feature_flags()
    app = cdk.App(outdir=outdir, context=context)
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
