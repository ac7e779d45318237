"""One public webhook endpoint for a SaaS that allows only a few webhook URLs, and one consumer per development
stage: the receiver verifies each delivery's signature, answers at once and stores the payload with its target stage
in a table with a stream; each stage's consumer reads the stream through an event filter that passes only its own.

The construct takes the providers, the stages (one list), the routing rule and, optionally, an existing REST API to
add its route to; the stack creates it with the example's stages and outputs what a reader needs to drive it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import DeadLetterQueue, PythonFunction

HANDLERS = Path(__file__).parent / "handlers"

# --8<-- [start:stages]
#: Every development stage that wants the webhooks: one consumer each. Add a stage here, deploy, done.
STAGES = ("dev", "test", "staging")
#: Where a payload goes when the routing rule names no known stage.
DEFAULT_STAGE = "dev"
#: The routing rule: this field of the payload (a dotted path) names the target stage.
ROUTE_FIELD = "metadata.stage"
# --8<-- [end:stages]


# --8<-- [start:construct]
class WebhookProxy(Construct):
    """``POST /webhooks/{provider}``: verify, store with the target stage, answer 200; one consumer per stage.

    * The receiver checks the body's size, then the ``Webhook-Signature`` header (``t=<unix time>,v1=<hex>``,
      HMAC-SHA256 over ``<t>.<raw body>`` with the provider's secret, compared in constant time, ``t`` within
      ``tolerance`` of now), accepting the secret's previous version for ``rotation_overlap`` after a rotation.
    * It stores the payload in ``table`` under the SHA-256 of what was signed, with a conditional write: the same
      signed delivery twice is a replay and is refused (409). The item's ``expires_at`` (TTL) is the signing time
      plus ``retention``, longer than ``tolerance``, so a replay is refused by the condition while the item lives
      and by the timestamp check after.
    * Each stage's consumer reads the table's stream through a filter (new items whose ``stage`` is its own),
      in batches of ``batch_size``; a failing batch is bisected, retried ``retry_attempts`` times, then its position
      (shard and sequence range) goes to that stage's ``failures`` queue. Stages do not wait for each other: each
      has its own event source mapping and checkpoint.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        stages: the development stages, one consumer each.
        default_stage: where a payload goes when the rule names no known stage.
        route_field: the dotted path of the payload field that names the stage.
        providers: the webhook senders; each gets a secret (``<id>/Secret<provider>``) to hold the signing secret.
        api: an existing REST API to add ``/webhooks/{provider}`` to (default: a new one).
        code_dir: the folder packaged as the functions' code.
        max_body_bytes: the largest payload accepted (DynamoDB items hold 400 KB).
        tolerance: how far the signed time may be from now.
        rotation_overlap: how long after a rotation the previous secret is still accepted.
        retention: how long a payload is kept (its TTL), at least ``tolerance``.
        batch_size: records per consumer invocation.
        retry_attempts: retries of a failing (bisected) batch before it is parked.
        max_record_age: records older than this are parked rather than processed.

    Attributes:
        table: the payloads, with a stream (new images) and TTL on ``expires_at``.
        secrets: each provider's signing secret.
        receiver: the receiving function block.
        consumers: each stage's consumer function block.
        failures: each stage's on-failure destination.
        api: the REST API.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stages: Sequence[str],
        default_stage: str,
        route_field: str,
        providers: Sequence[str] = ("acme",),
        api: apigw.RestApi | None = None,
        code_dir: Path = HANDLERS,
        max_body_bytes: int = 256 * 1024,
        tolerance: cdk.Duration = cdk.Duration.minutes(5),
        rotation_overlap: cdk.Duration = cdk.Duration.seconds(24 * 3600),
        retention: cdk.Duration = cdk.Duration.days(1),
        batch_size: int = 10,
        retry_attempts: int = 2,
        max_record_age: cdk.Duration = cdk.Duration.seconds(3600),
    ) -> None:
        super().__init__(scope, construct_id)
        if default_stage not in stages:
            raise ValueError(f"the default stage {default_stage!r} is not one of the stages {list(stages)}")
        if retention.to_seconds() < tolerance.to_seconds():
            raise ValueError("retention must be at least the tolerance, or a replay could outlive its record")
        self.table = dynamodb.Table(
            self,
            "Payloads",
            partition_key=dynamodb.Attribute(name="delivery_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.secrets: dict[str, secretsmanager.ISecret] = {}
        for provider in providers:
            secret = secretsmanager.Secret(
                self,
                f"Secret{provider.title()}",
                description=f"The signing secret {provider} issued for its webhooks",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=40
                ),
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            acknowledge(
                secret,
                {
                    "AwsSolutions-SMG4": "The provider issues and rotates this secret; the new value is stored with "
                    "PutSecretValue and the receiver accepts the previous one during the rotation overlap."
                },
            )
            self.secrets[provider] = secret

        self.receiver = PythonFunction(
            self,
            "Receiver",
            code_dir=code_dir,
            handler="receiver.index.handler",
            description="Verifies a webhook's signature and stores it for its stage",
            environment={
                "TABLE_NAME": self.table.table_name,
                "PROVIDER_SECRETS": cdk.Stack.of(self).to_json_string(
                    {p: s.secret_arn for p, s in self.secrets.items()}
                ),
                "STAGES": ",".join(stages),
                "DEFAULT_STAGE": default_stage,
                "ROUTE_FIELD": route_field,
                "MAX_BODY_BYTES": str(max_body_bytes),
                "TOLERANCE_SECONDS": str(int(tolerance.to_seconds())),
                "ROTATION_OVERLAP_SECONDS": str(int(rotation_overlap.to_seconds())),
                "RETENTION_SECONDS": str(int(retention.to_seconds())),
            },
            timeout=cdk.Duration.seconds(10),
        )
        self.table.grant(self.receiver, "dynamodb:PutItem")
        for stored_secret in self.secrets.values():
            stored_secret.grant_read(self.receiver)

        self.consumers: dict[str, PythonFunction] = {}
        self.failures: dict[str, sqs.IQueue] = {}
        for stage in stages:
            self.failures[stage] = DeadLetterQueue(self, f"{stage.title()}Failures").queue
            consumer = PythonFunction(
                self,
                f"{stage.title()}Consumer",
                code_dir=code_dir,
                handler="consumer.index.handler",
                description=f"Processes the webhooks meant for the {stage} stage",
                environment={"TABLE_NAME": self.table.table_name, "STAGE": stage},
                timeout=cdk.Duration.seconds(30),
            )
            mapping = consumer.function.add_event_source_mapping(
                "Stream",
                event_source_arn=self.table.table_stream_arn,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=batch_size,
                bisect_batch_on_error=True,
                retry_attempts=retry_attempts,
                max_record_age=max_record_age,
                report_batch_item_failures=True,
                on_failure=event_sources.SqsDlq(self.failures[stage]),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"NewImage": {"stage": {"S": lambda_.FilterRule.is_equal(stage)}}},
                        }
                    )
                ],
            )
            mapping.node.add_dependency(self._grant_stream_read(consumer))  # Lambda checks the stream at creation
            self.table.grant(consumer, "dynamodb:UpdateItem")  # records the delivery on the item, once
            self.consumers[stage] = consumer

        # --8<-- [end:construct]
        # --8<-- [start:api]
        if api is None:
            access_logs = logs.LogGroup(
                self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
            )
            api = apigw.RestApi(
                self,
                "Api",
                description="Receives webhooks for every development stage",
                cloud_watch_role=False,
                deploy_options=apigw.StageOptions(
                    stage_name="prod",
                    tracing_enabled=True,
                    throttling_rate_limit=100,
                    throttling_burst_limit=200,
                    access_log_destination=apigw.LogGroupLogDestination(access_logs),
                    access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                        caller=False,
                        http_method=True,
                        ip=True,
                        protocol=True,
                        request_time=True,
                        resource_path=True,
                        response_length=True,
                        status=True,
                        user=False,
                    ),
                ),
            )
            acknowledge(
                api,
                {
                    "AwsSolutions-APIG3": "A WAF web ACL is optional here: every request is authenticated by its "
                    "HMAC signature, and the stage is throttled.",
                    "AwsSolutions-APIG6": "Execution logs need the account-wide API Gateway CloudWatch role, which "
                    "an example must not change; access logs are on, and the receiver logs every refusal.",
                },
            )
        self.api = api
        validator = api.add_request_validator(
            "SignatureRequired",
            request_validator_name="signature-required",
            validate_request_parameters=True,
            validate_request_body=True,  # no model: nothing to check but the parameters, which is what nag asks
        )
        method = (
            api.root.add_resource("webhooks")
            .add_resource("{provider}")
            .add_method(
                "POST",
                apigw.LambdaIntegration(self.receiver.function),
                request_parameters={
                    "method.request.header.Webhook-Signature": True,
                    "method.request.path.provider": True,
                },
                request_validator=validator,
            )
        )
        acknowledge(
            method,
            {
                "AwsSolutions-APIG4": "Webhook senders cannot use IAM or Cognito: each delivery is authenticated by "
                "its HMAC-SHA256 signature, which the receiver verifies before storing anything.",
                "AwsSolutions-COG4": "No Cognito user pool: the sender is a SaaS provider, authenticated by the "
                "delivery's signature.",
            },
        )
        # --8<-- [end:api]

    def _grant_stream_read(self, consumer: PythonFunction) -> iam.Policy:
        """What Lambda's poller needs from the consumer's role: the stream's records, and ``ListStreams``.

        ``DynamoEventSource`` would grant ``ListStreams`` (which supports no resource-level permission) on ``*`` in
        the role's default policy, where only a role-wide acknowledgement could cover it; it gets a policy of its
        own here, acknowledged there only.
        """
        consumer.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                resources=[self.table.table_stream_arn or ""],
            )
        )
        policy = iam.Policy(
            consumer,
            "StreamList",
            roles=[consumer.role],
            statements=[iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"])],
        )
        acknowledge(
            policy,
            {
                "AwsSolutions-IAM5[Resource::*]": "dynamodb:ListStreams supports no resource-level permission; this "
                "policy holds only that action."
            },
        )
        return policy


class WebhookProxyStack(cdk.Stack):
    """The webhook proxy for the example's stages, with what a reader needs to drive it as outputs."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)
        proxy = WebhookProxy(self, "Webhooks", stages=STAGES, default_stage=DEFAULT_STAGE, route_field=ROUTE_FIELD)
        outputs = {
            "ApiUrl": proxy.api.url,
            "WebhookUrl": proxy.api.url_for_path("/webhooks/acme"),
            "TableName": proxy.table.table_name,
            "SecretArn": proxy.secrets["acme"].secret_arn,
            "Stages": ",".join(STAGES),
            "DefaultStage": DEFAULT_STAGE,
            "RouteField": ROUTE_FIELD,
        }
        for stage in STAGES:
            outputs[f"{stage.title()}FailuresQueueUrl"] = proxy.failures[stage].queue_url
            outputs[f"{stage.title()}ConsumerName"] = proxy.consumers[stage].function.function_name
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [WebhookProxyStack(app, "WebhookProxy", description="AWS Serverless Patterns: webhook-proxy")]
