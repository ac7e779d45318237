"""S3 object events fanned out through one SNS topic to independent subscribers."""

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


class S3FanoutStack(cdk.Stack):
    """A bucket whose ``ObjectCreated`` events reach three subscribers through one encrypted SNS topic."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)

        # --8<-- [start:topic]
        # The topic key's policy below lets S3 use the key for this bucket in this account only. With this flag on
        # (cdk.json, as aws-cdk-lib recommends), SnsDestination would add an unconditional statement for
        # s3.amazonaws.com beside it, so it is off in this stack (context must be set before any child exists).
        self.node.set_context("@aws-cdk/s3-notifications:addS3TrustKeyPolicyForSnsSubscriptions", False)

        access_logs = AccessLogBucket(self, "AccessLogs")
        bucket = SecureBucket(self, "Uploads", access_logs=access_logs.bucket).bucket

        topic_key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the object-events topic",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(7),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # S3 publishes to an encrypted topic only if the key lets it; only this bucket, in this account.
        topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                },
            )
        )
        topic = sns.Topic(self, "ObjectEvents", master_key=topic_key, enforce_ssl=True)
        # Adds the topic policy that admits s3.amazonaws.com for this bucket only (aws:SourceArn).
        bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SnsDestination(topic))
        # --8<-- [end:topic]

        # --8<-- [start:table]
        records = dynamodb.Table(
            self,
            "ObjectRecords",
            partition_key=dynamodb.Attribute(name="object_key", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="subscriber", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # Powertools idempotency records: one per processed event, expired by TTL after an hour.
        idempotency = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        tables = {"RECORDS_TABLE": records.table_name, "IDEMPOTENCY_TABLE": idempotency.table_name}
        # --8<-- [end:table]

        # --8<-- [start:indexer]
        # Subscriber 1: a Lambda function, invoked asynchronously by SNS. Failures are retried twice by
        # Lambda, then land in the DLQ with their error; undeliverable messages land there from SNS.
        indexer_failures = DeadLetterQueue(self, "IndexerFailures").queue
        indexer = PythonFunction(
            self,
            "Indexer",
            code_dir=HANDLERS,
            handler="indexer.index.handler",
            description="Records each new object's metadata",
            environment=tables,
            retry_attempts=2,
            max_event_age=cdk.Duration.hours(1),
            on_failure=destinations.SqsDestination(indexer_failures),
        )
        topic.add_subscription(subscriptions.LambdaSubscription(indexer.function, dead_letter_queue=indexer_failures))
        records.grant(indexer, "dynamodb:UpdateItem")
        idempotency.grant_read_write_data(indexer)
        # --8<-- [end:indexer]

        # --8<-- [start:checksum]
        # Subscriber 2: a queue buffers events for a consumer that reads each object; failed records are
        # reported one by one (ReportBatchItemFailures) and move to the DLQ after three receives.
        checksum_timeout = cdk.Duration.seconds(60)
        checksum_queue = QueueWithDlq(
            self, "ChecksumQueue", visibility_timeout=cdk.Duration.seconds(6 * checksum_timeout.to_seconds())
        ).queue
        topic.add_subscription(subscriptions.SqsSubscription(checksum_queue, raw_message_delivery=True))
        checksum = PythonFunction(
            self,
            "Checksum",
            code_dir=HANDLERS,
            handler="checksum.index.handler",
            description="Computes the SHA-256 of each new object",
            environment=tables,
            timeout=checksum_timeout,
        )
        checksum.function.add_event_source(
            event_sources.SqsEventSource(
                checksum_queue,
                batch_size=10,
                max_batching_window=cdk.Duration.seconds(1),
                report_batch_item_failures=True,
            )
        )
        checksum.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects("*")]
            )
        )
        acknowledge(
            checksum.role,
            {
                "AwsSolutions-IAM5[Resource::<Uploads4F6EB0FD.Arn>/*]": "The consumer reads whichever object "
                "an event names; keys are not known in advance.",
            },
        )
        records.grant(checksum, "dynamodb:UpdateItem")
        idempotency.grant_read_write_data(checksum)
        # --8<-- [end:checksum]

        # --8<-- [start:audit]
        # Subscriber 3: a queue that keeps the raw events for 14 days for an audit team to poll.
        audit_queue = QueueWithDlq(self, "AuditQueue", retention=cdk.Duration.days(14)).queue
        topic.add_subscription(subscriptions.SqsSubscription(audit_queue, raw_message_delivery=True))
        # --8<-- [end:audit]

        for name, value in {
            "BucketName": bucket.bucket_name,
            "TopicArn": topic.topic_arn,
            "RecordsTable": records.table_name,
            "AuditQueueUrl": audit_queue.queue_url,
            "ChecksumQueueUrl": checksum_queue.queue_url,
            "IndexerFailuresQueueUrl": indexer_failures.queue_url,
        }.items():
            cdk.CfnOutput(self, name, value=value)

        acknowledge_cdk_custom_resources(self)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [S3FanoutStack(app, "S3Fanout", description="AWS Serverless Patterns: s3-fanout")]
