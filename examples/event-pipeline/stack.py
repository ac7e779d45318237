"""Many emitters, one Firehose delivery stream, a lake in S3 that Athena can query.

The construct takes the bucket (an existing one works), the transformation code and the log groups to subscribe;
the stack creates the lake bucket and the example's emitters (two functions putting batches, one function whose
log is subscribed) and wires them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import AccessLogBucket, PythonFunction, SecureBucket

HANDLERS = Path(__file__).parent / "handlers"

# --8<-- [start:layout]
#: Hive-style time partitions (``year=2026/month=12/...``): Athena and Glue read the partition values from the keys.
DATA_PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
#: Records the transformation failed land here (``processing-failed``), with Firehose's error document.
ERROR_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
#: The table's columns: what the transformation writes, one JSON document a line.
COLUMNS = {
    "event_id": "string",
    "source": "string",
    "type": "string",
    "occurred_at": "string",
    "channel": "string",
    "detail": "string",
}
# --8<-- [end:layout]


# --8<-- [start:pipeline]
class EventPipeline(Construct):
    """A Direct PUT Firehose delivery stream into ``bucket``, with a transformation function, log subscriptions
    and a Glue table over what it delivers.

    * Producers put records (``firehose:PutRecordBatch``, granted with :meth:`grant_put`); log groups in
      ``subscribed_log_groups`` send their events through a subscription filter, with a role CloudWatch Logs
      assumes.
    * Firehose buffers up to ``buffer_size_mib`` or ``buffer_interval`` (whichever comes first), invokes
      ``transformer`` on the buffered records, writes what it answers ``Ok`` GZIP-compressed under
      :data:`DATA_PREFIX`, and what it answers ``ProcessingFailed`` (or what a failing invocation left) under
      :data:`ERROR_PREFIX`, with the error and the original data. A failed S3 write is retried for 24 hours.
    * ``table`` describes the data prefix for Athena, with partition projection (no crawler, no
      ``MSCK REPAIR``); ``freshness_alarm`` fires when the oldest undelivered record is older than ``max_age``.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        bucket: where the data lands (one of this stack's buckets, or an existing one).
        code_dir: the folder packaged as the transformation's code.
        transformer_handler: the transformation's handler, e.g. ``transformer.index.handler``.
        subscribed_log_groups: log groups whose events go to the stream.
        subscription_filter: the filter pattern of those subscriptions ("" sends every event).
        database_name: the Glue database (lower case) that holds ``table_name``.
        table_name: the Glue table over the data prefix.
        buffer_size_mib: Firehose's size hint (1 to 128 MiB).
        buffer_interval: Firehose's time hint (0 to 900 s).
        max_age: how old the oldest undelivered record may be before the alarm fires.

    Attributes:
        stream: the ``CfnDeliveryStream``.
        stream_arn: its ARN.
        transformer: the transformation function block.
        delivery_role: the role Firehose writes and invokes with.
        table: the ``CfnTable``.
        freshness_alarm: the alarm on ``DeliveryToS3.DataFreshness``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        code_dir: Path,
        transformer_handler: str,
        subscribed_log_groups: Sequence[logs.ILogGroup] = (),
        subscription_filter: str = "",
        database_name: str = "event_pipeline",
        table_name: str = "events",
        buffer_size_mib: int = 64,
        buffer_interval: cdk.Duration = cdk.Duration.seconds(60),
        max_age: cdk.Duration = cdk.Duration.minutes(15),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.transformer = PythonFunction(
            self,
            "Transformer",
            code_dir=code_dir,
            handler=transformer_handler,
            description="Validates each record Firehose buffers; malformed ones go to the error prefix",
            timeout=cdk.Duration.minutes(1),  # Firehose waits up to 5 minutes for a transformation
        )
        errors = logs.LogGroup(
            self, "DeliveryErrors", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        errors_stream = logs.LogStream(self, "S3Delivery", log_group=errors, removal_policy=cdk.RemovalPolicy.DESTROY)
        self.delivery_role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Firehose delivery role of {construct_id}",
        )
        # Exactly what delivery needs: new objects under the two prefixes (multipart uploads for large ones), one
        # function to invoke, one log stream to report delivery errors to.
        write = iam.Policy(
            self,
            "DeliveryPolicy",
            roles=[self.delivery_role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[bucket.arn_for_objects("events/*"), bucket.arn_for_objects("errors/*")],
                ),
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                    resources=[self.transformer.function.function_arn],
                ),
            ],
        )
        errors.grant_write(self.delivery_role)
        self.stream = firehose.CfnDeliveryStream(
            self,
            "Stream",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket.bucket_arn,
                role_arn=self.delivery_role.role_arn,
                prefix=DATA_PREFIX,
                error_output_prefix=ERROR_PREFIX,
                compression_format="GZIP",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    size_in_m_bs=buffer_size_mib, interval_in_seconds=int(buffer_interval.to_seconds())
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="Lambda",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="LambdaArn", parameter_value=self.transformer.function.function_arn
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="NumberOfRetries", parameter_value="3"
                                ),
                            ],
                        )
                    ],
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True, log_group_name=errors.log_group_name, log_stream_name=errors_stream.log_stream_name
                ),
            ),
        )
        # Firehose checks the role when the stream is created: its policies must exist first.
        self.stream.node.add_dependency(self.delivery_role, write)
        self.stream_arn = self.stream.attr_arn

        logs_role = iam.Role(
            self,
            "SubscriptionRole",
            assumed_by=iam.ServicePrincipal(
                "logs.amazonaws.com",
                conditions={
                    "StringLike": {"aws:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"}
                },
            ),
            description=f"CloudWatch Logs puts subscribed events into {construct_id}",
        )
        logs_role.add_to_policy(iam.PolicyStatement(actions=["firehose:PutRecord"], resources=[self.stream_arn]))
        for index, group in enumerate(subscribed_log_groups):
            subscription = logs.CfnSubscriptionFilter(
                self,
                f"Subscription{index}",
                log_group_name=group.log_group_name,
                filter_pattern=subscription_filter,
                destination_arn=self.stream_arn,
                role_arn=logs_role.role_arn,
            )
            subscription.node.add_dependency(logs_role)

        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(name=database_name),
        )
        location = f"s3://{bucket.bucket_name}/events/"
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=stack.account,
            database_name=database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=table_name,
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=name, type="string") for name in ("year", "month", "day", "hour")
                ],
                parameters={
                    "classification": "json",
                    "compressionType": "gzip",
                    # Partition projection: Athena computes the partitions from these ranges and the template.
                    "projection.enabled": "true",
                    "projection.year.type": "integer",
                    "projection.year.range": "2024,2099",
                    "projection.month.type": "integer",
                    "projection.month.range": "1,12",
                    "projection.month.digits": "2",
                    "projection.day.type": "integer",
                    "projection.day.range": "1,31",
                    "projection.day.digits": "2",
                    "projection.hour.type": "integer",
                    "projection.hour.range": "0,23",
                    "projection.hour.digits": "2",
                    "storage.location.template": location + "year=${year}/month=${month}/day=${day}/hour=${hour}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in COLUMNS.items()],
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe"
                    ),
                    compressed=True,
                ),
            ),
        )
        self.table.node.add_dependency(database)

        self.freshness_alarm = cloudwatch.Alarm(
            self,
            "FreshnessAlarm",
            alarm_description=f"Records wait in {construct_id} longer than {max_age.to_minutes()} minutes",
            metric=cloudwatch.Metric(
                namespace="AWS/Firehose",
                metric_name="DeliveryToS3.DataFreshness",
                dimensions_map={"DeliveryStreamName": self.stream.ref},
                statistic=cloudwatch.Stats.MAXIMUM,
                period=cdk.Duration.minutes(5),
            ),
            threshold=max_age.to_seconds(),
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        bucket_arn = _nag_arn(stack, bucket)
        acknowledge(
            write,
            {
                f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}/*]": f"Firehose creates objects under the "
                f"{prefix}/ prefix with keys it generates per delivery (time partitions, stream name, a random id)."
                for prefix in ("events", "errors")
            },
        )

    def grant_put(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` put batches of records into the stream (``PutRecordBatch``)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["firehose:PutRecordBatch"], resource_arns=[self.stream_arn]
        )


# --8<-- [end:pipeline]


def _nag_arn(stack: cdk.Stack, bucket: s3.IBucket) -> str:
    """How cdk-nag names the bucket's ARN in a finding: ``<LogicalId.Arn>`` for a bucket of this app, the ARN
    itself for an imported one."""
    resolved = stack.resolve(bucket.bucket_arn)
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        return f"<{resolved['Fn::GetAtt'][0]}.Arn>"
    return str(resolved)


class EventPipelineStack(cdk.Stack):
    """Two emitter functions and a subscribed log group feeding one delivery stream into a lake bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)

        # --8<-- [start:emitters]
        access_logs = AccessLogBucket(self, "AccessLogs").bucket
        lake = SecureBucket(self, "Lake", access_logs=access_logs).bucket
        audit = PythonFunction(
            self,
            "Audit",
            code_dir=HANDLERS,
            handler="audit.index.handler",
            description="Writes audit events to its log; the log's subscription forwards them to the pipeline",
        )
        pipeline = EventPipeline(
            self,
            "Pipeline",
            bucket=lake,
            code_dir=HANDLERS,
            transformer_handler="transformer.index.handler",
            subscribed_log_groups=[audit.log_group],
            # Only the audit lines: Lambda's START/END/REPORT lines and other logs stay out of the lake.
            subscription_filter='"audit_event"',
        )
        emitters = {}
        for name, source in (("OrdersEmitter", "orders"), ("PaymentsEmitter", "payments")):
            emitter = PythonFunction(
                self,
                name,
                code_dir=HANDLERS,
                handler="emitter.index.handler",
                description=f"Puts {source} events into the pipeline in batches, resending failed records",
                environment={"STREAM_NAME": pipeline.stream.ref, "SOURCE": source},
                timeout=cdk.Duration.minutes(1),
            )
            pipeline.grant_put(emitter)
            emitters[name] = emitter
        # --8<-- [end:emitters]

        for name, value in {
            "StreamName": pipeline.stream.ref,
            "StreamArn": pipeline.stream_arn,
            "LakeBucket": lake.bucket_name,
            "OrdersEmitterName": emitters["OrdersEmitter"].function.function_name,
            "PaymentsEmitterName": emitters["PaymentsEmitter"].function.function_name,
            "AuditFunctionName": audit.function.function_name,
            "AuditLogGroup": audit.log_group.log_group_name,
            "TransformerLogGroup": pipeline.transformer.log_group.log_group_name,
            "GlueDatabase": pipeline.table.database_name,
            "GlueTable": pipeline.table.ref,
            "DataPrefix": "events/",
            "ErrorPrefix": "errors/",
        }.items():
            cdk.CfnOutput(self, name, value=value)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [EventPipelineStack(app, "EventPipeline", description="AWS Serverless Patterns: event-pipeline")]
