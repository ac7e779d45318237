"""CloudWatch alarm state changes from several accounts, forwarded to a central account and handled there.

Each account is its own stack, deployed into its own account: the central stack (its bus, whose policy admits the
source accounts, and the rule, function, table and topic that handle what arrives) and one stack per source account
(a rule that forwards the account's alarm state changes to the central bus). The accounts come from the context
(``cdk deploy -c accounts=central=...,source-a=...``) or ``AWSPATTERNS_ACCOUNTS``; in the sandbox, its accounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import account_environments
from awspatterns.blocks import DeadLetterQueue, PythonFunction, QueueWithDlq

HANDLERS = Path(__file__).parent / "handlers"
#: What a rule matches: every state change of every alarm of the account it is in.
ALARM_STATE_CHANGES = events.EventPattern(source=["aws.cloudwatch"], detail_type=["CloudWatch Alarm State Change"])
#: The sandbox's names for the accounts this example uses (``patterns sandbox status --json`` lists them).
CENTRAL, SOURCES, OUTSIDER = "main", ("source-a", "source-b"), "outsider"


# --8<-- [start:central]
class CentralAlarmBus(Construct):
    """A bus that admits the events of ``source_accounts`` only, and a rule that has ``recorder`` handle their
    alarm state changes.

    The bus's policy lets each source account (any of its rules, through their roles) ``events:PutEvents``; a
    forward from any other account is refused, and counted in that account's rule metrics. The central rule
    matches alarm state changes from the source accounts only, and invokes ``recorder`` asynchronously:

    * EventBridge retries an invocation that fails (a throttled or unavailable function) for up to
      ``max_event_age`` and ``retry_attempts`` times, then parks the event in ``undelivered`` with EventBridge's
      ``ERROR_CODE`` and ``ERROR_MESSAGE`` (a missing function or a refused permission is parked at once);
    * a handler that fails is Lambda's to retry: give ``recorder`` an on-failure destination (the stack does), and
      Lambda parks its invocation record (the event, the error, the attempt count) there after its retries.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        source_accounts: the accounts whose events the bus admits.
        recorder: the function that handles each alarm state change (its block).
        bus_name: the bus's name (source stacks forward to it by ARN).
        retry_attempts: EventBridge's retries of a failed invocation (0 to 185).
        max_event_age: how long EventBridge keeps trying (60 s to 24 hours).

    Attributes:
        bus: the central event bus.
        rule: the rule that invokes ``recorder``.
        undelivered: the rule target's dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_accounts: Sequence[str],
        recorder: PythonFunction,
        bus_name: str = "central-alarms",
        retry_attempts: int = 4,
        max_event_age: cdk.Duration = cdk.Duration.seconds(7200),
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        for account in source_accounts:
            self.bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"PutEventsFrom{account}",
                    principals=[iam.AccountPrincipal(account)],
                    actions=["events:PutEvents"],
                    resources=[self.bus.event_bus_arn],
                )
            )
        self.undelivered: sqs.IQueue = DeadLetterQueue(self, "Undelivered").queue
        self.rule = events.Rule(
            self,
            "AlarmStateChanges",
            event_bus=self.bus,
            description="Alarm state changes forwarded by the source accounts",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                account=list(source_accounts),
            ),
        )
        # Adds the function permission and the DLQ's queue policy, both for this rule only (aws:SourceArn).
        self.rule.add_target(
            targets.LambdaFunction(
                recorder.function,
                dead_letter_queue=self.undelivered,
                retry_attempts=retry_attempts,
                max_event_age=max_event_age,
            )
        )


# --8<-- [end:central]


# --8<-- [start:forwarder]
class AlarmForwarder(Construct):
    """A rule on this account's default bus that forwards every alarm state change to ``central_bus_arn``.

    The rule sends with its own role, allowed ``events:PutEvents`` on that bus only. A forward the central bus
    refuses (its policy does not admit this account) is not retried: it is counted in the rule's
    ``FailedInvocations`` metric and parked in ``dead_letter_queue`` with ``ERROR_CODE`` ``NO_PERMISSIONS``.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        central_bus_arn: the bus in the central account.
        event_pattern: what to forward (by default every alarm state change of this account).
        retry_attempts: EventBridge's retries of a forward that fails for a passing reason (within an hour).

    Attributes:
        rule: the forwarding rule.
        role: the role it sends with.
        dead_letter_queue: where refused or undeliverable forwards are parked.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        central_bus_arn: str,
        event_pattern: events.EventPattern = ALARM_STATE_CHANGES,
        retry_attempts: int = 8,
    ) -> None:
        super().__init__(scope, construct_id)
        central = events.EventBus.from_event_bus_arn(self, "CentralBus", central_bus_arn)
        self.dead_letter_queue: sqs.IQueue = DeadLetterQueue(self, "Undelivered").queue
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Forwards alarm state changes to the central account's bus",
        )
        self.rule = events.Rule(
            self,
            "AlarmStateChanges",
            description="Forwards this account's alarm state changes to the central account",
            event_pattern=event_pattern,
        )
        self.rule.add_target(targets.EventBus(central, dead_letter_queue=self.dead_letter_queue, role=self.role))
        # CDK's EventBus target takes no retry policy; CloudFormation does. Retried: throttling and outages of the
        # central bus; a refusal is not (AWS parks it at once).
        rule = self.rule.node.default_child
        assert isinstance(rule, events.CfnRule)
        rule.add_property_override(
            "Targets.0.RetryPolicy", {"MaximumRetryAttempts": retry_attempts, "MaximumEventAgeInSeconds": 3600}
        )


# --8<-- [end:forwarder]


class CentralStack(cdk.Stack):
    """The central account: the bus, its policy, and what handles the alarm state changes that arrive."""

    def __init__(
        self, scope: Construct, construct_id: str, *, source_accounts: Sequence[str], **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]

        # --8<-- [start:handling]
        history = dynamodb.Table(
            self,
            "History",
            partition_key=dynamodb.Attribute(name="alarm", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="change", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        notifications_key = kms.Key(
            self,
            "NotificationsKey",
            description="Encrypts the alarm notifications topic",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(7),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        notifications = sns.Topic(self, "Notifications", master_key=notifications_key, enforce_ssl=True)
        # Stands in for the on-call team's e-mail or chat subscription, so the client can read the notifications.
        on_call = QueueWithDlq(self, "OnCall", retention=cdk.Duration.days(14)).queue
        notifications.add_subscription(subscriptions.SqsSubscription(on_call, raw_message_delivery=True))
        failed = DeadLetterQueue(self, "Failed").queue
        recorder = PythonFunction(
            self,
            "Recorder",
            code_dir=HANDLERS,
            handler="recorder.index.handler",
            description="Records each alarm state change from the source accounts and notifies the on-call team",
            environment={
                "HISTORY_TABLE": history.table_name,
                "NOTIFICATIONS_TOPIC_ARN": notifications.topic_arn,
                "SOURCE_ACCOUNTS": ",".join(source_accounts),
            },
            retry_attempts=2,
            max_event_age=cdk.Duration.hours(1),
            on_failure=destinations.SqsDestination(failed),
        )
        history.grant(recorder, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem")
        # Publishing to an encrypted topic takes a data key of its key: exactly these actions, not grant_publish's
        # kms:GenerateDataKey* wildcard.
        recorder.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[notifications.topic_arn])
        )
        recorder.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[notifications_key.key_arn])
        )
        central = CentralAlarmBus(self, "Alarms", source_accounts=source_accounts, recorder=recorder)
        # --8<-- [end:handling]

        for name, value in {
            "CentralBusArn": central.bus.event_bus_arn,
            "CentralRuleName": central.rule.rule_name,
            "RecorderFunctionName": recorder.function.function_name,
            "HistoryTable": history.table_name,
            "NotificationsTopicArn": notifications.topic_arn,
            "OnCallQueueUrl": on_call.queue_url,
            "UndeliveredQueueUrl": central.undelivered.queue_url,
            "FailedQueueUrl": failed.queue_url,
            "SourceAccounts": ",".join(source_accounts),
        }.items():
            cdk.CfnOutput(self, name, value=value)


class SourceStack(cdk.Stack):
    """A source account: an example alarm, and the rule that forwards its state changes to the central bus.

    Its outputs are prefixed with the stack's id (``AlarmsSourceAAlarmName``), so that one client can read every
    account's outputs side by side.
    """

    def __init__(self, scope: Construct, construct_id: str, *, central_bus_arn: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # An alarm of this account's checkout service; the client changes its state with SetAlarmState.
        alarm = cloudwatch.Alarm(
            self,
            "CheckoutErrors",
            alarm_name="checkout-errors",  # one per account: the central history names it with its account
            alarm_description="Checkout errors in this account",
            metric=cloudwatch.Metric(
                namespace="Shop/Checkout", metric_name="Errors", period=cdk.Duration.minutes(1), statistic="Sum"
            ),
            threshold=5,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        forwarder = AlarmForwarder(self, "Forwarder", central_bus_arn=central_bus_arn)
        for name, value in {
            "Account": self.account,
            "AlarmName": alarm.alarm_name,
            "ForwardingRuleName": forwarder.rule.rule_name,
            "UndeliveredQueueUrl": forwarder.dead_letter_queue.queue_url,
        }.items():
            cdk.CfnOutput(self, name, value=value, key=f"{construct_id}{name}")


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``: the central account, two admitted sources and an outsider."""
    environments = account_environments(app, [CENTRAL, *SOURCES, OUTSIDER])
    central_env = environments[CENTRAL]
    description = "AWS Serverless Patterns: cross-account-eventbridge"
    central = CentralStack(
        app,
        "AlarmsCentral",
        source_accounts=[str(environments[name].account) for name in SOURCES],
        env=central_env,
        description=description,
    )
    bus_arn = f"arn:aws:events:{central_env.region}:{central_env.account}:event-bus/central-alarms"
    stacks: list[cdk.Stack] = [central]
    for stack_id, name in (("AlarmsSourceA", SOURCES[0]), ("AlarmsSourceB", SOURCES[1]), ("AlarmsOutsider", OUTSIDER)):
        stacks.append(
            SourceStack(app, stack_id, central_bus_arn=bus_arn, env=environments[name], description=description)
        )
    return stacks
