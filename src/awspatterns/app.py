"""Creating the CDK app every example uses: the same settings and the cdk-nag gate, wherever it is synthesized."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

__all__ = ["acknowledge", "new_app"]


def new_app(outdir: str | None = None) -> cdk.App:
    """A CDK app with the ``AwsSolutionsChecks`` gate installed (cdk-nag 3.x validation plugin).

    ``app.synth()`` then raises ``ValidationFailed`` when any stack has an unacknowledged finding and writes
    ``validation-report.json`` into the cloud assembly.
    """
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return app


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    """Acknowledge cdk-nag findings on ``scope`` and its children, each with the reason it is acceptable.

    Args:
        scope: the construct the findings apply to.
        findings: rule id (granular ids such as ``AwsSolutions-IAM5[Resource::*]`` included) -> reason.
    """
    for rule_id, reason in findings.items():
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
