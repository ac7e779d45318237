"""Secure-by-default building blocks shared by the examples.

Each block applies the defaults the catalog promises (see the security notes on every pattern page), so an
example's stack module reads as its architecture rather than as a list of settings.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import acknowledge

__all__ = [
    "BASIC_EXECUTION_ROLE",
    "POWERTOOLS_LAYER_ACCOUNT",
    "POWERTOOLS_LAYER_VERSION",
    "PYTHON_RUNTIME",
    "access_log_bucket",
    "acknowledge_cdk_custom_resources",
    "dead_letter_queue",
    "powertools_layer",
    "python_function",
    "queue_with_dlq",
    "secure_bucket",
]

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
        return existing  # type: ignore[return-value]
    runtime = PYTHON_RUNTIME.name.replace(".", "")
    arn = (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime}-x86_64:{POWERTOOLS_LAYER_VERSION}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(stack, "PowertoolsLayer", arn)


# --8<-- [start:function]
def python_function(
    scope: Construct,
    construct_id: str,
    *,
    code_dir: Path,
    handler: str,
    description: str,
    environment: dict[str, str] | None = None,
    timeout: cdk.Duration = cdk.Duration.seconds(30),
    **kwargs: object,
) -> lambda_.Function:
    """A Python function with its own role, its own log group (30 days) and X-Ray tracing.

    The role gets only what writing to its own log group needs; callers grant the rest. That avoids the
    broad ``AWSLambdaBasicExecutionRole`` managed policy.
    """
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Execution role of {construct_id}",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        construct_id,
        runtime=PYTHON_RUNTIME,
        architecture=lambda_.Architecture.X86_64,
        code=lambda_.Code.from_asset(str(code_dir), exclude=["__pycache__", "*.pyc"]),
        handler=handler,
        description=description,
        role=role,
        log_group=log_group,
        layers=[powertools_layer(scope)],
        tracing=lambda_.Tracing.ACTIVE,
        timeout=timeout,
        memory_size=256,
        environment={
            "POWERTOOLS_SERVICE_NAME": construct_id,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **(environment or {}),
        },
        **kwargs,  # type: ignore[arg-type]
    )
    acknowledge(
        role,
        {
            "AwsSolutions-IAM5[Resource::*]": "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level "
            "permissions (added by tracing=ACTIVE).",
        },
    )
    return function


# --8<-- [end:function]


# --8<-- [start:buckets]
def access_log_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    """The bucket that receives server access logs of the example's other buckets."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
        lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
    )
    acknowledge(bucket, {"AwsSolutions-S1": "This is the access-log bucket; logging it into itself would loop."})
    return bucket


def secure_bucket(scope: Construct, construct_id: str, *, access_logs: s3.IBucket) -> s3.Bucket:
    """An encrypted, versioned, private, TLS-only bucket with server access logs.

    The example buckets are destroyed with their stack (objects included) so a trial leaves nothing behind;
    a production bucket would keep ``RemovalPolicy.RETAIN``.
    """
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{construct_id}/",
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )


# --8<-- [end:buckets]


# --8<-- [start:queues]
def queue_with_dlq(
    scope: Construct,
    construct_id: str,
    *,
    visibility_timeout: cdk.Duration = cdk.Duration.seconds(30),
    max_receive_count: int = 3,
    retention: cdk.Duration = cdk.Duration.days(4),
) -> sqs.Queue:
    """An SSE-SQS encrypted, TLS-only queue whose messages move to a 14-day DLQ after ``max_receive_count``."""
    dlq = dead_letter_queue(scope, f"{construct_id}Dlq")
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        retention_period=retention,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count),
    )


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """An encrypted, TLS-only queue that keeps failed messages for 14 days (the SQS maximum)."""
    dlq = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    acknowledge(dlq, {"AwsSolutions-SQS3": "This queue is itself a dead-letter queue."})
    return dlq


# --8<-- [end:queues]


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
