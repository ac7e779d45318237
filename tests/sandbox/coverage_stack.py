"""A CDK stack with the constructs the catalog's patterns are built from (beyond s3-fanout and the gateway stack):
a two-AZ VPC with application and data subnets, Aurora Serverless v2 with the Data API and a generated secret,
SSM parameters, a function in the VPC, a DynamoDB stream consumer with filters, a central event bus with a
cross-account policy and rules, an alarm on a DLQ, and a Firehose delivery stream fed by a log subscription."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm

HANDLER = "def handler(event, context):\n    return {'batchItemFailures': []}\n"
SOURCE_ACCOUNTS = ("111111111111", "222222222222")


def build(outdir: Path) -> Path:
    """Synthesize the stack into ``outdir`` and return the cloud assembly directory."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Coverage")

    vpc = ec2.Vpc(
        stack,
        "Network",
        max_azs=2,
        nat_gateways=1,
        restrict_default_security_group=True,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="application", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    cluster = rds.DatabaseCluster(
        stack,
        "Database",
        engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_4),
        credentials=rds.Credentials.from_generated_secret("app_admin"),
        default_database_name="catalog",
        writer=rds.ClusterInstance.serverless_v2("Writer"),
        serverless_v2_min_capacity=0.5,
        serverless_v2_max_capacity=2,
        enable_data_api=True,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        storage_encrypted=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    ssm.StringParameter(
        stack, "ClusterArnParameter", parameter_name="/coverage/cluster-arn", string_value=cluster.cluster_arn
    )

    def function(name: str, **options: object) -> lambda_.Function:
        return lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER),
            **options,  # type: ignore[arg-type]
        )

    in_vpc = function("InVpc", vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS))
    cluster.connections.allow_default_port_from(in_vpc)

    table = dynamodb.Table(
        stack,
        "Webhooks",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_IMAGE,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    failures = sqs.Queue(stack, "StreamFailures", enforce_ssl=True)
    function("DevConsumer").add_event_source(
        sources.DynamoEventSource(
            table,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            filters=[lambda_.FilterCriteria.filter({"dynamodb": {"NewImage": {"stage": {"S": ["dev"]}}}})],
            bisect_batch_on_error=True,
            retry_attempts=2,
            on_failure=sources.SqsDlq(failures),
            report_batch_item_failures=True,
        )
    )

    bus = events.EventBus(stack, "Central", event_bus_name="coverage-central")
    for account in SOURCE_ACCOUNTS:
        events.CfnEventBusPolicy(
            stack,
            f"Admit{account}",
            event_bus_name=bus.event_bus_name,
            statement_id=f"admit-{account}",
            statement={
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "events:PutEvents",
                "Resource": bus.event_bus_arn,
            },
        )
    events.Rule(
        stack,
        "AlarmChanges",
        event_bus=bus,
        event_pattern=events.EventPattern(source=["aws.cloudwatch"], detail_type=["CloudWatch Alarm State Change"]),
        targets=[targets.LambdaFunction(function("OnAlarm")), targets.SqsQueue(failures)],
    )
    cloudwatch.Alarm(
        stack,
        "FailuresPresent",
        metric=failures.metric_approximate_number_of_messages_visible(),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    )

    lake = s3.Bucket(stack, "Lake", removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True)
    delivery_role = iam.Role(stack, "DeliveryRole", assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"))
    lake.grant_write(delivery_role)
    stream = firehose.CfnDeliveryStream(
        stack,
        "Pipeline",
        delivery_stream_type="DirectPut",
        extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
            bucket_arn=lake.bucket_arn,
            role_arn=delivery_role.role_arn,
            prefix="events/!{timestamp:yyyy/MM/dd}/",
            error_output_prefix="errors/!{firehose:error-output-type}/",
            compression_format="GZIP",
            buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(interval_in_seconds=60, size_in_m_bs=5),
        ),
    )
    group = logs.LogGroup(stack, "AppLogs", removal_policy=cdk.RemovalPolicy.DESTROY)
    logs_role = iam.Role(stack, "LogsToFirehose", assumed_by=iam.ServicePrincipal("logs.amazonaws.com"))
    logs.CfnSubscriptionFilter(
        stack,
        "ToPipeline",
        log_group_name=group.log_group_name,
        filter_pattern="",
        destination_arn=stream.attr_arn,
        role_arn=logs_role.role_arn,
    )

    cdk.CfnOutput(stack, "ClusterArn", value=cluster.cluster_arn)
    cdk.CfnOutput(stack, "SecretArn", value=cluster.secret.secret_arn if cluster.secret else "")
    cdk.CfnOutput(stack, "Policies", value=json.dumps(list(SOURCE_ACCOUNTS)))
    return Path(app.synth().directory)
