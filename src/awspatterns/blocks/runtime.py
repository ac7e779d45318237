"""The runtime every example function runs on, and the Powertools for AWS Lambda layer it loads."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

__all__ = ["POWERTOOLS_LAYER_ACCOUNT", "POWERTOOLS_LAYER_VERSION", "PYTHON_RUNTIME", "powertools_layer"]

# --8<-- [start:runtime]
#: Every example function runs on the newest Python runtime (cdk-nag AwsSolutions-L1 asks for it).
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Powertools for AWS Lambda comes from its public layer, so handler folders hold only our code.
#: The sandbox serves the same library from the locally installed, pinned PyPI release instead.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27
# --8<-- [end:runtime]


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The region's public Powertools for AWS Lambda (Python, v3) layer, shared within a stack."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child("PowertoolsLayer")
    if existing is not None:
        return cast(lambda_.ILayerVersion, existing)
    runtime = PYTHON_RUNTIME.name.replace(".", "")
    arn = (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime}-x86_64:{POWERTOOLS_LAYER_VERSION}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(stack, "PowertoolsLayer", arn)
