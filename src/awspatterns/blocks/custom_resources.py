"""Acknowledging cdk-nag findings on the custom resources CDK itself adds to a stack."""

from __future__ import annotations

import aws_cdk as cdk

from awspatterns.app import acknowledge

__all__ = ["BASIC_EXECUTION_ROLE", "acknowledge_cdk_custom_resources"]

#: The managed policy CDK's custom-resource functions use, as cdk-nag names it in granular findings.
BASIC_EXECUTION_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def acknowledge_cdk_custom_resources(stack: cdk.Stack) -> None:
    """Acknowledge the findings on CDK's own custom-resource functions, which a stack cannot configure.

    Call it last in a stack's constructor: it acknowledges only on the constructs CDK added (bucket
    notifications, auto-delete objects), never on the example's own functions.
    """
    reasons = {
        f"AwsSolutions-IAM4[Policy::{BASIC_EXECUTION_ROLE}]": "CDK's custom-resource function uses the basic "
        "execution role; CDK exposes no way to replace it.",
        "AwsSolutions-IAM5[Resource::*]": "CDK's bucket-notifications function configures buckets named at deploy "
        "time; CDK scopes it to no resource.",
        "AwsSolutions-L1": "CDK's custom-resource provider chooses its own Node.js runtime.",
    }
    for child in stack.node.children:
        if child.node.id.startswith(("BucketNotificationsHandler", "Custom::")):
            acknowledge(child, reasons)
