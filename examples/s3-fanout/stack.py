"""S3 object events fanned out through one SNS topic to independent subscribers.

The fan-out is a construct that takes the bucket (an existing one works) and, optionally, the topic its events
already reach (an existing one works too); it creates the subscribers and what they record into. The stack only
creates the bucket and wires the construct.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
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


def _table(
    scope: Construct, construct_id: str, partition: str, sort: str | None = None, *, ttl: str | None = None
) -> dynamodb.Table:
    """An on-demand table with point-in-time recovery, destroyed with the stack."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING) if sort else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=ttl,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def _arn_token(scope: Construct, arn: str) -> str:
    """How cdk-nag names ``arn`` in a granular finding: ``<LogicalId.Arn>`` for a bucket of this stack."""
    resolved = cdk.Stack.of(scope).resolve(arn)
    return f"<{resolved['Fn::GetAtt'][0]}.Arn>" if isinstance(resolved, dict) and "Fn::GetAtt" in resolved else arn


class ObjectEventFanout(Construct):
    """A bucket's object events -> one SNS topic -> three independent subscribers.

    * **Indexer**: a Lambda function SNS invokes asynchronously. Lambda retries a failed event twice, then sends
      its invocation record (event, error, attempts) to ``indexer_failures``. A message SNS cannot deliver to the
      function at all (the function deleted, its permission missing, throttled past SNS's retries) goes to
      ``indexer_undelivered``, the subscription's dead-letter queue, as the SNS message. The two have different
      shapes and different fixes, so each has its own queue and its own redrive.
    * **Checksum**: SNS writes the raw S3 event to ``checksum_queue``; a function takes batches, reports failed
      records one by one, and SQS moves a record to the queue's DLQ after three receives.
    * **Audit**: ``audit_queue`` keeps the raw events 14 days for someone else to poll.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        bucket: the bucket whose objects the subscribers read (one of this stack's, or
            ``s3.Bucket.from_bucket_name``).
        topic: a topic the bucket's ``ObjectCreated`` events already reach (an existing one, e.g. another
            pattern's), whose policies already admit S3. ``None`` creates a topic encrypted with a key that only
            this bucket, in this account, may use, and points the bucket's ``ObjectCreated`` events at it.
        checksum_timeout: the checksum consumer's timeout (it reads whole objects).
        audit_retention: how long the audit queue keeps an event.

    Attributes:
        topic: the topic the subscribers subscribe to; subscribe more to it.
        topic_key: the topic's key, when this construct created the topic.
        records: the table both functions record into (``object_key``, ``subscriber``).
        idempotency: Powertools' idempotency records.
        indexer: the indexer function block.
        indexer_failures: the indexer's on-failure destination (Lambda invocation records).
        indexer_undelivered: the indexer subscription's dead-letter queue (SNS messages).
        checksum: the checksum function block.
        checksum_queue: the queue it reads.
        audit_queue: the audit queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        topic: sns.ITopic | None = None,
        checksum_timeout: cdk.Duration = cdk.Duration.seconds(60),
        audit_retention: cdk.Duration = cdk.Duration.days(14),
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic_key: kms.IKey | None = None
        self.topic: sns.ITopic = topic if topic is not None else self._topic_for(bucket)

        # --8<-- [start:table]
        self.records = _table(self, "ObjectRecords", "object_key", "subscriber")
        # Powertools idempotency records: one per processed event, expired by TTL after an hour.
        self.idempotency = _table(self, "Idempotency", "id", ttl="expiration")
        tables = {"RECORDS_TABLE": self.records.table_name, "IDEMPOTENCY_TABLE": self.idempotency.table_name}
        # --8<-- [end:table]

        # --8<-- [start:indexer]
        # Subscriber 1: a Lambda function, invoked asynchronously by SNS. Two failure queues, because they hold two
        # different things: Lambda's invocation records of events the function failed on (replay the
        # requestPayload once fixed), and SNS messages that never reached the function (publish them again).
        self.indexer_failures: sqs.IQueue = DeadLetterQueue(self, "IndexerFailures").queue
        self.indexer_undelivered: sqs.IQueue = DeadLetterQueue(self, "IndexerUndelivered").queue
        self.indexer = PythonFunction(
            self,
            "Indexer",
            code_dir=HANDLERS,
            handler="indexer.index.handler",
            description="Records each new object's metadata",
            environment=tables,
            retry_attempts=2,
            max_event_age=cdk.Duration.hours(1),
            on_failure=destinations.SqsDestination(self.indexer_failures),
        )
        # Adds the function permission for this topic and the DLQ's policy admitting SNS for this topic only.
        self.topic.add_subscription(
            subscriptions.LambdaSubscription(self.indexer.function, dead_letter_queue=self.indexer_undelivered)
        )
        self.records.grant(self.indexer, "dynamodb:UpdateItem")
        self.idempotency.grant_read_write_data(self.indexer)
        # --8<-- [end:indexer]

        # --8<-- [start:checksum]
        # Subscriber 2: a queue buffers events for a consumer that reads each object; failed records are
        # reported one by one (ReportBatchItemFailures) and move to the DLQ after three receives.
        self.checksum_queue: sqs.IQueue = QueueWithDlq(
            self, "ChecksumQueue", visibility_timeout=cdk.Duration.seconds(6 * checksum_timeout.to_seconds())
        ).queue
        self.topic.add_subscription(subscriptions.SqsSubscription(self.checksum_queue, raw_message_delivery=True))
        self.checksum = PythonFunction(
            self,
            "Checksum",
            code_dir=HANDLERS,
            handler="checksum.index.handler",
            description="Computes the SHA-256 of each new object",
            environment=tables,
            timeout=checksum_timeout,
        )
        self.checksum.function.add_event_source(
            event_sources.SqsEventSource(
                self.checksum_queue,
                batch_size=10,
                max_batching_window=cdk.Duration.seconds(1),
                report_batch_item_failures=True,
            )
        )
        self.checksum.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects("*")]
            )
        )
        acknowledge(
            self.checksum.role,
            {
                f"AwsSolutions-IAM5[Resource::{_arn_token(self, bucket.bucket_arn)}/*]": "The consumer reads "
                "whichever object an event names; keys are not known in advance.",
            },
        )
        self.records.grant(self.checksum, "dynamodb:UpdateItem")
        self.idempotency.grant_read_write_data(self.checksum)
        # --8<-- [end:checksum]

        # --8<-- [start:audit]
        # Subscriber 3: a queue that keeps the raw events for an audit team to poll.
        self.audit_queue: sqs.IQueue = QueueWithDlq(self, "AuditQueue", retention=audit_retention).queue
        self.topic.add_subscription(subscriptions.SqsSubscription(self.audit_queue, raw_message_delivery=True))
        # --8<-- [end:audit]

    # --8<-- [start:topic]
    def _topic_for(self, bucket: s3.IBucket) -> sns.ITopic:
        """A topic encrypted with a key only ``bucket`` may use, receiving the bucket's ``ObjectCreated`` events."""
        account = cdk.Stack.of(self).account
        self.topic_key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the object-events topic",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(7),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # S3 publishes to an encrypted topic only if the key lets it; only this bucket, in this account.
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                },
            )
        )
        topic = sns.Topic(self, "ObjectEvents", master_key=self.topic_key, enforce_ssl=True)
        # Adds the topic policy that admits s3.amazonaws.com for this bucket only (aws:SourceArn).
        bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SnsDestination(topic))
        return topic
        # --8<-- [end:topic]


class S3FanoutStack(cdk.Stack):
    """A bucket whose ``ObjectCreated`` events reach three subscribers through one encrypted SNS topic."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)

        # --8<-- [start:stack]
        # The topic key's policy lets S3 use the key for this bucket in this account only. With this flag on
        # (cdk.json, as aws-cdk-lib recommends), SnsDestination would add an unconditional statement for
        # s3.amazonaws.com beside it, so it is off in this stack (context must be set before any child exists).
        self.node.set_context("@aws-cdk/s3-notifications:addS3TrustKeyPolicyForSnsSubscriptions", False)

        access_logs = AccessLogBucket(self, "AccessLogs")
        bucket = SecureBucket(self, "Uploads", access_logs=access_logs.bucket).bucket
        fanout = ObjectEventFanout(self, "Fanout", bucket=bucket)
        # --8<-- [end:stack]

        for name, value in {
            "BucketName": bucket.bucket_name,
            "TopicArn": fanout.topic.topic_arn,
            "RecordsTable": fanout.records.table_name,
            "AuditQueueUrl": fanout.audit_queue.queue_url,
            "ChecksumQueueUrl": fanout.checksum_queue.queue_url,
            "IndexerFunctionName": fanout.indexer.function.function_name,
            "IndexerFailuresQueueUrl": fanout.indexer_failures.queue_url,
            "IndexerUndeliveredQueueUrl": fanout.indexer_undelivered.queue_url,
        }.items():
            cdk.CfnOutput(self, name, value=value)

        acknowledge_cdk_custom_resources(self)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [S3FanoutStack(app, "S3Fanout", description="AWS Serverless Patterns: s3-fanout")]
