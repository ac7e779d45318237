"""CloudFormation resource types moto 5.2.5 skips silently, implemented on moto's own backends.

moto finds resource types through ``CloudFormationModel.__subclasses__()``, so each model here must be a
*direct* subclass (a mixin may come first) in an importable module; :func:`register` clears moto's caches.
"""

from __future__ import annotations

import contextlib
import json
import operator
from typing import Any

from moto.apigateway.models import Deployment as ApiGatewayDeployment
from moto.awslambda.models import LayerVersion
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.events.models import Archive, EventBus, events_backends
from moto.rds.models import DBParameterGroup, DBSubnetGroup
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from awspatterns.sandbox.cfn_support import SandboxUnsupported
from awspatterns.sandbox.patching import add


class _SandboxModel:
    """What every added model shares: created at once, replaced on update, deleted through ``_delete``."""

    physical_resource_id: str
    properties: dict[str, Any]
    account_id: str
    region_name: str

    def __init__(self, physical_id: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        self.physical_resource_id = physical_id
        self.properties = properties
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in getattr(cls, "ATTRIBUTES", ())

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(  # type: ignore[attr-defined]
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)._delete()

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete()

    def _delete(self) -> None:
        raise NotImplementedError


def cfn_bool(value: Any) -> bool:
    """A CloudFormation boolean property: a JSON boolean or the string "true"/"false"."""
    return value is True or str(value).lower() == "true"


def _policy_json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


class SqsQueuePolicy(_SandboxModel, CloudFormationModel):
    """``AWS::SQS::QueuePolicy``: sets the ``Policy`` attribute of each queue."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SqsQueuePolicy:
        properties = cloudformation_json["Properties"]
        model = cls(resource_name, properties, account_id, region_name)
        model._apply(_policy_json(properties["PolicyDocument"]))
        return model

    def _apply(self, policy: str) -> None:
        backend = sqs_backends[self.account_id][self.region_name]
        for url in self.properties["Queues"]:
            backend.set_queue_attributes(url.rstrip("/").rsplit("/", 1)[-1], {"Policy": policy})

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the queue may have gone first
            self._apply("")


class SnsTopicPolicy(_SandboxModel, CloudFormationModel):
    """``AWS::SNS::TopicPolicy``: sets the ``Policy`` attribute of each topic."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SnsTopicPolicy:
        properties = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        for arn in properties["Topics"]:
            backend.set_topic_attribute(arn, "Policy", _policy_json(properties["PolicyDocument"]))
        return cls(resource_name, properties, account_id, region_name)

    def _delete(self) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        for arn in self.properties["Topics"]:
            if arn in backend.topics:
                backend.topics[arn]._policy_json = backend.topics[arn]._create_default_topic_policy(
                    self.region_name, self.account_id, backend.topics[arn].name
                )


class S3BucketPolicy(_SandboxModel, CloudFormationModel):
    """``AWS::S3::BucketPolicy``."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> S3BucketPolicy:
        properties = cloudformation_json["Properties"]
        s3_backends[account_id][_partition(region_name)].put_bucket_policy(
            properties["Bucket"], _policy_json(properties["PolicyDocument"]).encode()
        )
        return cls(resource_name, properties, account_id, region_name)

    def _delete(self) -> None:
        backend = s3_backends[self.account_id][_partition(self.region_name)]
        if self.properties["Bucket"] in backend.buckets:
            backend.delete_bucket_policy(self.properties["Bucket"])


class SnsSubscription(_SandboxModel, CloudFormationModel):
    """``AWS::SNS::Subscription`` with its delivery attributes (raw delivery, filter policy, redrive policy)."""

    ATTRIBUTES = ("Arn",)
    _ATTRIBUTE_PROPERTIES = (
        "RawMessageDelivery",
        "FilterPolicy",
        "FilterPolicyScope",
        "RedrivePolicy",
        "DeliveryPolicy",
    )

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SnsSubscription:
        properties = cloudformation_json["Properties"]
        topic_arn = properties["TopicArn"]
        backend = sns_backends[topic_arn.split(":")[4]][topic_arn.split(":")[3]]
        subscription = backend.subscribe(topic_arn, properties["Endpoint"], properties["Protocol"])
        for name in cls._ATTRIBUTE_PROPERTIES:
            if name in properties:
                value = properties[name]
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif not isinstance(value, str):
                    value = json.dumps(value)
                if name == "RawMessageDelivery" and value == "false":
                    continue  # moto treats any non-empty string as true
                backend.set_subscription_attributes(subscription.arn, name, value)
        return cls(subscription.arn, properties, account_id, region_name)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    def _delete(self) -> None:
        arn = self.physical_resource_id
        backend = sns_backends[arn.split(":")[4]][arn.split(":")[3]]
        if arn in backend.subscriptions:
            backend.unsubscribe(arn)


class LambdaEventInvokeConfig(_SandboxModel, CloudFormationModel):
    """``AWS::Lambda::EventInvokeConfig``: retries, maximum event age and destinations of async invocation."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> LambdaEventInvokeConfig:
        properties = cloudformation_json["Properties"]
        config = {
            k: properties[k]
            for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if k in properties
        }
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in config:
                config[key] = int(config[key])
        lambda_backend(account_id, region_name).put_function_event_invoke_config(properties["FunctionName"], config)
        return cls(
            f"{properties['FunctionName']}:{properties.get('Qualifier', '$LATEST')}",
            properties,
            account_id,
            region_name,
        )

    def _delete(self) -> None:
        backend = lambda_backend(self.account_id, self.region_name)
        with contextlib.suppress(Exception):  # the function may have gone first
            backend.get_function(self.properties["FunctionName"]).event_invoke_config = []


class EventsEventBusPolicy(_SandboxModel, CloudFormationModel):
    """``AWS::Events::EventBusPolicy``: one statement of a bus's resource policy (who may put events on it)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Events::EventBusPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> EventsEventBusPolicy:
        properties = cloudformation_json["Properties"]
        bus = events_backends[account_id][region_name].describe_event_bus(properties.get("EventBusName") or "default")
        statement = properties.get("Statement")
        if statement is None:  # the older form: Action, Principal and Condition properties
            principal = properties["Principal"]
            statement = {
                "Effect": "Allow",
                "Action": properties.get("Action", "events:PutEvents"),
                "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
                "Resource": bus.arn,
            }
            if properties.get("Condition"):
                condition = properties["Condition"]
                statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
        bus.add_policy({"Statement": [{**statement, "Sid": properties["StatementId"]}]})
        return cls(properties["StatementId"], {**properties, "EventBusName": bus.name}, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the bus may have gone first
            events_backends[self.account_id][self.region_name].describe_event_bus(
                self.properties["EventBusName"]
            ).remove_statement(self.physical_resource_id)


class CloudWatchAlarm(_SandboxModel, CloudFormationModel):
    """``AWS::CloudWatch::Alarm`` on one metric; its state changes reach EventBridge (see ``eventbridge``)."""

    ATTRIBUTES = ("Arn",)
    arn: str

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> CloudWatchAlarm:
        properties = cloudformation_json["Properties"]
        if properties.get("Metrics"):
            raise SandboxUnsupported(
                f"alarm {kwargs.get('LogicalId', resource_name)} uses metric math, which the sandbox does not model"
            )
        name = properties.get("AlarmName") or resource_name
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=properties["Namespace"],
            metric_name=properties["MetricName"],
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            period=int(properties.get("Period", 60)),
            threshold=float(properties["Threshold"]),
            statistic=properties.get("Statistic", "Average"),
            description=properties.get("AlarmDescription", ""),
            dimensions=properties.get("Dimensions", []),
            alarm_actions=properties.get("AlarmActions", []),
            ok_actions=properties.get("OKActions", []),
            insufficient_data_actions=properties.get("InsufficientDataActions", []),
            datapoints_to_alarm=int(properties["DatapointsToAlarm"]) if "DatapointsToAlarm" in properties else None,
            treat_missing_data=properties.get("TreatMissingData"),
            actions_enabled=properties.get("ActionsEnabled", True) not in (False, "false"),
        )
        model = cls(name, properties, account_id, region_name)
        model.arn = alarm.alarm_arn
        return model

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    def _delete(self) -> None:
        cloudwatch_backends[self.account_id][self.region_name].delete_alarms([self.physical_resource_id])


class Ec2SecurityGroupEgress(_SandboxModel, CloudFormationModel):
    """``AWS::EC2::SecurityGroupEgress``: one outbound rule (recorded; the sandbox does not isolate networks)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Ec2SecurityGroupEgress:
        properties = cloudformation_json["Properties"]
        rule = _egress_rule(properties)
        rules, _ = ec2_backends[account_id][region_name].authorize_security_group_egress(properties["GroupId"], **rule)
        return cls(rules[0].id, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the group may have gone first
            ec2_backends[self.account_id][self.region_name].revoke_security_group_egress(
                self.properties["GroupId"], **_egress_rule(self.properties)
            )


def _egress_rule(properties: dict[str, Any]) -> dict[str, Any]:
    ranges = [{"CidrIp": properties["CidrIp"]}] if properties.get("CidrIp") else []
    groups = (
        [{"GroupId": properties["DestinationSecurityGroupId"]}] if properties.get("DestinationSecurityGroupId") else []
    )
    return {
        "ip_protocol": str(properties["IpProtocol"]),
        "from_port": str(properties.get("FromPort", -1)),
        "to_port": str(properties.get("ToPort", -1)),
        "ip_ranges": ranges,
        "source_groups": groups,
    }


def _partition(region_name: str) -> str:
    return "aws-cn" if region_name.startswith("cn-") else "aws"


MODELS = (
    SqsQueuePolicy,
    SnsTopicPolicy,
    S3BucketPolicy,
    SnsSubscription,
    LambdaEventInvokeConfig,
    EventsEventBusPolicy,
    CloudWatchAlarm,
    Ec2SecurityGroupEgress,
)

#: moto models without ``physical_resource_id``: a ``Ref`` to one made ``CreateStack`` answer HTTP 500. Each gets
#: the value CloudFormation's ``Ref`` returns.
REF_VALUES: dict[type, str] = {
    ApiGatewayDeployment: "id",
    EventBus: "name",
    Archive: "name",
    LayerVersion: "arn",
    DBSubnetGroup: "name",
    DBParameterGroup: "name",
}


def register() -> None:
    """Make moto's CloudFormation see the models above and its own models' ``Ref`` values."""
    from awspatterns.sandbox.cfn_apigateway import MODELS as APIGATEWAY_MODELS
    from awspatterns.sandbox.cfn_rds import MODELS as RDS_MODELS
    from awspatterns.sandbox.cfn_streaming import MODELS as STREAMING_MODELS

    for model, attribute in REF_VALUES.items():
        add(model, "physical_resource_id", property(operator.attrgetter(attribute)))
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    missing = [
        m.cloudformation_type()
        for m in (*MODELS, *APIGATEWAY_MODELS, *RDS_MODELS, *STREAMING_MODELS)
        if m.cloudformation_type() not in parsing.get_model_map()
    ]
    if missing:
        raise RuntimeError(f"moto did not pick up the sandbox's CloudFormation models: {missing}")
