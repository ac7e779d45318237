"""SNS subscriptions and Lambda's asynchronous-invocation settings, which moto 5.2.5 skips in CloudFormation."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from moto.awslambda.utils import get_backend as lambda_backend
from moto.core.common_models import CloudFormationModel
from moto.sns.models import sns_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.cloudformation.base import SandboxModel

__all__ = ["MODELS", "LambdaEventInvokeConfig", "SnsSubscription"]


class SnsSubscription(SandboxModel, CloudFormationModel):
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
        topic = Arn.parse(topic_arn)
        backend = sns_backends[topic.account][topic.region]
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
        subscription = Arn.parse(arn)
        backend = sns_backends[subscription.account][subscription.region]
        if arn in backend.subscriptions:
            backend.unsubscribe(arn)


class LambdaEventInvokeConfig(SandboxModel, CloudFormationModel):
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


MODELS = (SnsSubscription, LambdaEventInvokeConfig)
