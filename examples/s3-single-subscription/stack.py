"""S3 object events to exactly one consumer: through an SQS queue, or straight to a Lambda function.

Each variant is a construct that takes the bucket (an existing one works), the key prefix it owns and the table it
records into; the stack only wires them side by side, one prefix each.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import (
    AccessLogBucket,
    DeadLetterQueue,
    PythonFunction,
    QueueWithDlq,
    SecureBucket,
    acknowledge_cdk_custom_resources,
)

HANDLERS = Path(__file__).parent / "handlers"


def _grant_object_reads(function: PythonFunction, bucket: s3.IBucket, prefix: str) -> None:
    """Let ``function`` read any version of the objects under ``prefix``, and nothing else in the bucket."""
    objects = bucket.arn_for_objects(f"{prefix}*")
    function.role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[objects])
    )
    resolved = cdk.Stack.of(function).resolve(bucket.bucket_arn)
    arn = (
        f"<{resolved['Fn::GetAtt'][0]}.Arn>"
        if isinstance(resolved, dict) and "Fn::GetAtt" in resolved
        else bucket.bucket_arn
    )
    acknowledge(
        function.role,
        {
            f"AwsSolutions-IAM5[Resource::{arn}/{prefix}*]": "The consumer reads whichever object an event names "
            "under its own prefix; keys are not known in advance.",
        },
    )


# --8<-- [start:queued]
class QueuedObjectConsumer(Construct):
    """Object events under one prefix -> an SQS queue -> a Lambda function that takes them in batches.

    The queue buffers bursts and lets the consumer take up to ``batch_size`` events per invocation, waiting up to
    ``batching_window`` to fill a batch. The consumer reports failed records one by one (``ReportBatchItemFailures``):
    a document it can never record is parked in the DLQ at once with its error; any other failure is retried by SQS
    and moves to the DLQ after ``max_receive_count`` receives. The visibility timeout is six times the consumer's
    timeout, as AWS advises, so a slow batch is never handed to a second invocation while the first still runs.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        bucket: the bucket whose events it consumes (one of this stack's, or an existing one).
        prefix: the keys it owns, e.g. ``queued/``; another destination may own another prefix of the bucket.
        records: the table the consumer records each document in.
        suffix: the key suffix it owns.
        timeout: the consumer's timeout.
        batch_size: the most events per invocation.
        batching_window: how long the poller waits to fill a batch.
        max_receive_count: receives after which a message moves to the DLQ.

    Attributes:
        queue: the queue the bucket notifies.
        dead_letter_queue: where failed events are parked.
        consumer: the consuming function block.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        prefix: str,
        records: dynamodb.ITable,
        suffix: str = ".json",
        timeout: cdk.Duration = cdk.Duration.seconds(30),
        batch_size: int = 10,
        batching_window: cdk.Duration = cdk.Duration.seconds(2),
        max_receive_count: int = 3,
    ) -> None:
        super().__init__(scope, construct_id)
        queue = QueueWithDlq(
            self,
            "Queue",
            visibility_timeout=cdk.Duration.seconds(6 * timeout.to_seconds()),
            max_receive_count=max_receive_count,
        )
        self.queue: sqs.IQueue = queue.queue
        self.dead_letter_queue: sqs.IQueue = queue.dead_letter_queue
        # Adds the queue policy that lets s3.amazonaws.com send for this bucket only (aws:SourceArn, SourceAccount).
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=prefix, suffix=suffix),
        )
        self.consumer = PythonFunction(
            self,
            "Consumer",
            code_dir=HANDLERS,
            handler="queued.index.handler",
            description=f"Records the invoices uploaded under {prefix}, in batches from a queue",
            environment={
                "RECORDS_TABLE": records.table_name,
                "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue.queue_url,
            },
            timeout=timeout,
        )
        self.consumer.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                max_batching_window=batching_window,
                report_batch_item_failures=True,
            )
        )
        _grant_object_reads(self.consumer, bucket, prefix)
        records.grant(self.consumer, "dynamodb:PutItem")
        self.dead_letter_queue.grant(self.consumer, "sqs:SendMessage")  # parks what can never be recorded


# --8<-- [end:queued]


# --8<-- [start:direct]
class DirectObjectConsumer(Construct):
    """Object events under one prefix -> a Lambda function that S3 invokes asynchronously, one event at a time.

    Lambda queues each event and retries a failed invocation ``retry_attempts`` times (about one minute, then two
    minutes apart); an event still failing, or older than ``max_event_age``, goes to the ``failures`` queue (the
    on-failure destination) with the error, the request id and the number of attempts.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        bucket: the bucket whose events it consumes (one of this stack's, or an existing one).
        prefix: the keys it owns, e.g. ``direct/``.
        records: the table the consumer records each document in.
        suffix: the key suffix it owns.
        timeout: the consumer's timeout.
        retry_attempts: Lambda's retries of a failed event (0 to 2).
        max_event_age: how long Lambda keeps trying an event.

    Attributes:
        failures: the on-failure destination.
        consumer: the consuming function block.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        prefix: str,
        records: dynamodb.ITable,
        suffix: str = ".json",
        timeout: cdk.Duration = cdk.Duration.seconds(30),
        retry_attempts: int = 2,
        max_event_age: cdk.Duration = cdk.Duration.seconds(3600),
    ) -> None:
        super().__init__(scope, construct_id)
        self.failures: sqs.IQueue = DeadLetterQueue(self, "Failures").queue
        self.consumer = PythonFunction(
            self,
            "Consumer",
            code_dir=HANDLERS,
            handler="direct.index.handler",
            description=f"Records the invoices uploaded under {prefix}, one S3 event per invocation",
            environment={"RECORDS_TABLE": records.table_name},
            timeout=timeout,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            on_failure=destinations.SqsDestination(self.failures),
        )
        # Adds the permission that lets s3.amazonaws.com invoke the function for this bucket and account only.
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.consumer.function),
            s3.NotificationKeyFilter(prefix=prefix, suffix=suffix),
        )
        _grant_object_reads(self.consumer, bucket, prefix)
        records.grant(self.consumer, "dynamodb:PutItem")


# --8<-- [end:direct]


class S3SingleSubscriptionStack(cdk.Stack):
    """One bucket, two prefixes, one consumer each: through a queue, and straight to a function."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)

        # --8<-- [start:stack]
        access_logs = AccessLogBucket(self, "AccessLogs")
        bucket = SecureBucket(self, "Uploads", access_logs=access_logs.bucket).bucket
        # One item per object version: a redelivered event finds its item and changes nothing.
        records = dynamodb.Table(
            self,
            "Invoices",
            partition_key=dynamodb.Attribute(name="object_key", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="version_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # S3 allows one destination per event type and overlapping prefix: the two variants own separate prefixes.
        queued = QueuedObjectConsumer(self, "Queued", bucket=bucket, prefix="queued/", records=records)
        direct = DirectObjectConsumer(self, "Direct", bucket=bucket, prefix="direct/", records=records)
        # --8<-- [end:stack]

        for name, value in {
            "BucketName": bucket.bucket_name,
            "QueuedPrefix": "queued/",
            "DirectPrefix": "direct/",
            "RecordsTable": records.table_name,
            "QueueUrl": queued.queue.queue_url,
            "QueueDlqUrl": queued.dead_letter_queue.queue_url,
            "QueuedFunctionName": queued.consumer.function.function_name,
            "DirectFailuresQueueUrl": direct.failures.queue_url,
            "DirectFunctionName": direct.consumer.function.function_name,
        }.items():
            cdk.CfnOutput(self, name, value=value)

        acknowledge_cdk_custom_resources(self)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [
        S3SingleSubscriptionStack(
            app, "S3SingleSubscription", description="AWS Serverless Patterns: s3-single-subscription"
        )
    ]
