"""An asynchronously invoked function whose failures are retried, parked with their error, watched by an alarm and
redriven after a fix; beside it, the same function with the classic function DLQ, for comparison.

The constructs take the handler code, its environment and the alarm's topic (an existing one works); the stack
creates what the example's orders need (a table, a parameter, the topic and an on-call queue) and wires them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from awspatterns.blocks import DeadLetterQueue, PythonFunction, QueueWithDlq

HANDLERS = Path(__file__).parent / "handlers"


# --8<-- [start:redrive]
class AsyncFunctionWithRedrive(Construct):
    """A function invoked asynchronously; what still fails after Lambda's retries is parked, alarmed on and
    redriven.

    * Lambda retries a failed event ``retry_attempts`` times (about one minute, then two minutes apart), then sends
      its invocation record (the event, the error, the request id, the attempt count) to ``failures``, the
      on-failure destination. An event older than ``max_event_age`` goes there too (``EventAgeExceeded``).
    * ``alarm`` goes to ALARM when a message is visible in ``failures`` and notifies ``alarm_topic`` (and again
      when the queue is empty, OK).
    * ``failures`` is also the dead-letter queue of ``replay``, so an SQS message move task (the console's
      "Start DLQ redrive") can move parked records to ``replay``. The ``replayer`` function reads them in batches
      and runs the same business code on each original event; what still fails is parked again at once with its
      new error, or, for a failure that may pass, retried by SQS and moved back after ``replay_max_receive_count``
      receives. Nothing loops: a record leaves ``failures`` only when someone starts a redrive.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        code_dir: the folder packaged as both functions' code.
        handler: the worker's handler, e.g. ``worker.index.handler``.
        replay_handler: the replayer's handler; it receives SQS batches of Lambda invocation records.
        description: what the worker does.
        environment: variables of both functions.
        replay_environment: variables of the replayer only (merged over ``environment``).
        alarm_topic: where the alarm notifies (one of this stack's topics, or an existing one).
        timeout: both functions' timeout.
        retry_attempts: Lambda's retries of a failed event (0 to 2).
        max_event_age: how long Lambda keeps trying an event (60 s to 6 hours).
        replay_max_receive_count: receives of a replayed record before SQS moves it back to ``failures``.

    Attributes:
        worker: the asynchronously invoked function block.
        failures: the on-failure destination, where failures are parked.
        replay: the queue a redrive moves parked records to.
        replayer: the function block that replays them.
        alarm: the alarm on the depth of ``failures``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        handler: str,
        replay_handler: str,
        description: str,
        environment: Mapping[str, str],
        alarm_topic: sns.ITopic,
        replay_environment: Mapping[str, str] | None = None,
        timeout: cdk.Duration = cdk.Duration.seconds(10),
        retry_attempts: int = 2,
        max_event_age: cdk.Duration = cdk.Duration.seconds(3600),
        replay_max_receive_count: int = 3,
    ) -> None:
        super().__init__(scope, construct_id)
        self.failures: sqs.IQueue = DeadLetterQueue(self, "Failures").queue
        self.worker = PythonFunction(
            self,
            "Worker",
            code_dir=code_dir,
            handler=handler,
            description=description,
            environment=environment,
            timeout=timeout,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            on_failure=destinations.SqsDestination(self.failures),
        )
        self.replay: sqs.IQueue = sqs.Queue(
            self,
            "Replay",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(6 * timeout.to_seconds()),
            retention_period=cdk.Duration.days(14),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.failures, max_receive_count=replay_max_receive_count),
        )
        self.replayer = PythonFunction(
            self,
            "Replayer",
            code_dir=code_dir,
            handler=replay_handler,
            description=f"Replays parked events: {description}",
            environment={**environment, **(replay_environment or {}), "FAILURES_QUEUE_URL": self.failures.queue_url},
            timeout=timeout,
        )
        self.replayer.function.add_event_source(
            event_sources.SqsEventSource(self.replay, batch_size=10, report_batch_item_failures=True)
        )
        self.failures.grant(self.replayer, "sqs:SendMessage")  # parks again what still fails
        self.alarm = cloudwatch.Alarm(
            self,
            "FailuresAlarm",
            alarm_description=f"Failed events of {construct_id} are parked and wait for a fix and a redrive",
            metric=self.failures.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
        self.alarm.add_ok_action(cloudwatch_actions.SnsAction(alarm_topic))


# --8<-- [end:redrive]


# --8<-- [start:classic]
class AsyncFunctionWithDlq(Construct):
    """The classic alternative: a function whose ``DeadLetterConfig`` sends the failed event itself to an SQS queue.

    The message is the original event, with only ``RequestID``, ``ErrorCode`` and ``ErrorMessage`` as message
    attributes: no attempt count, no condition, no response, no stack trace. Lambda sends it after the same retries.

    Attributes:
        function: the function block.
        dead_letter_queue: its DLQ.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        timeout: cdk.Duration = cdk.Duration.seconds(10),
        retry_attempts: int = 2,
        max_event_age: cdk.Duration = cdk.Duration.seconds(3600),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue: sqs.IQueue = DeadLetterQueue(self, "DeadLetters").queue
        self.function = PythonFunction(
            self,
            "Function",
            code_dir=code_dir,
            handler=handler,
            description=description,
            environment=environment,
            timeout=timeout,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )
        resource = self.function.function.node.default_child
        assert isinstance(resource, lambda_.CfnFunction)
        resource.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letter_queue.queue_arn
        )
        self.dead_letter_queue.grant(self.function, "sqs:SendMessage")  # Lambda sends with the function's role


# --8<-- [end:classic]


class DeadLetterQueueStack(cdk.Stack):
    """Orders processed by an asynchronously invoked function, its failures parked, alarmed on and redriven."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)

        # --8<-- [start:alerts]
        # CloudWatch publishes to an encrypted topic only if the key and the topic policy let it; only this
        # account's alarms may.
        alarms_in_this_account = {
            "StringEquals": {"aws:SourceAccount": self.account},
            "ArnLike": {"aws:SourceArn": f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:*"},
        }
        alerts_key = kms.Key(
            self,
            "AlertsKey",
            description="Encrypts the alerts topic",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(7),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        alerts_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions=alarms_in_this_account,
            )
        )
        alerts = sns.Topic(self, "Alerts", master_key=alerts_key, enforce_ssl=True)
        alerts.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[alerts.topic_arn],
                conditions=alarms_in_this_account,
            )
        )
        # Stands in for the on-call team's e-mail or chat subscription, so the client can read the notifications.
        on_call = QueueWithDlq(self, "OnCall", retention=cdk.Duration.days(14)).queue
        alerts.add_subscription(subscriptions.SqsSubscription(on_call, raw_message_delivery=True))
        # --8<-- [end:alerts]

        # --8<-- [start:orders]
        orders = dynamodb.Table(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(name="order_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # The fix of this story is a configuration change: orders in a currency not listed here fail until it is.
        # A name under the stack's own path, so an operator finds it (and IAM can scope by path).
        accepted_currencies = ssm.StringParameter(
            self,
            "AcceptedCurrencies",
            parameter_name=f"/{self.stack_name}/accepted-currencies",
            description="Currencies the order worker accepts, comma-separated",
            string_value="EUR,USD",
        )
        environment = {
            "ORDERS_TABLE": orders.table_name,
            "ACCEPTED_CURRENCIES_PARAMETER": accepted_currencies.parameter_name,
            "SETTINGS_MAX_AGE_SECONDS": "5",  # the worker caches the parameter for 5 s
        }
        worker = AsyncFunctionWithRedrive(
            self,
            "OrderWorker",
            code_dir=HANDLERS,
            handler="worker.index.handler",
            replay_handler="replayer.index.handler",
            description="Records each order it is invoked with",
            environment=environment,
            replay_environment={"SETTINGS_MAX_AGE_SECONDS": "0"},  # a redrive must see the fix at once
            alarm_topic=alerts,
        )
        classic = AsyncFunctionWithDlq(
            self,
            "Classic",
            code_dir=HANDLERS,
            handler="worker.index.handler",
            description="Records each order it is invoked with (classic DLQ)",
            environment=environment,
        )
        for function in (worker.worker, worker.replayer, classic.function):
            orders.grant(function, "dynamodb:PutItem")
            function.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[accepted_currencies.parameter_arn])
            )
        # --8<-- [end:orders]

        for name, value in {
            "WorkerFunctionName": worker.worker.function.function_name,
            "ClassicFunctionName": classic.function.function.function_name,
            "FailuresQueueUrl": worker.failures.queue_url,
            "FailuresQueueArn": worker.failures.queue_arn,
            "ReplayQueueUrl": worker.replay.queue_url,
            "ReplayQueueArn": worker.replay.queue_arn,
            "ClassicDlqUrl": classic.dead_letter_queue.queue_url,
            "AlarmName": worker.alarm.alarm_name,
            "AlertsTopicArn": alerts.topic_arn,
            "OnCallQueueUrl": on_call.queue_url,
            "OrdersTable": orders.table_name,
            "AcceptedCurrenciesParameter": accepted_currencies.parameter_name,
            "WorkerSettingsMaxAgeSeconds": environment["SETTINGS_MAX_AGE_SECONDS"],
        }.items():
            cdk.CfnOutput(self, name, value=value)


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``."""
    return [DeadLetterQueueStack(app, "DeadLetterQueue", description="AWS Serverless Patterns: dead-letter-queue")]
