"""Resource policies moto 5.2.5 skips in CloudFormation: queue, topic, bucket and event bus policies."""

from __future__ import annotations

import contextlib
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.events.models import events_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from awspatterns.sandbox.cloudformation.base import SandboxModel, partition, policy_json

__all__ = ["MODELS", "EventsEventBusPolicy", "S3BucketPolicy", "SnsTopicPolicy", "SqsQueuePolicy"]


class SqsQueuePolicy(SandboxModel, CloudFormationModel):
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
        model._apply(policy_json(properties["PolicyDocument"]))
        return model

    def _apply(self, policy: str) -> None:
        backend = sqs_backends[self.account_id][self.region_name]
        for url in self.properties["Queues"]:
            backend.set_queue_attributes(url.rstrip("/").rsplit("/", 1)[-1], {"Policy": policy})

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the queue may have gone first
            self._apply("")


class SnsTopicPolicy(SandboxModel, CloudFormationModel):
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
            # moto's attribute is the snake-case name its API handler derives; "Policy" set a stray attribute and
            # left the topic's default policy in place
            backend.set_topic_attribute(arn, "policy", policy_json(properties["PolicyDocument"]))
        return cls(resource_name, properties, account_id, region_name)

    def _delete(self) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        for arn in self.properties["Topics"]:
            if arn in backend.topics:
                backend.topics[arn]._policy_json = backend.topics[arn]._create_default_topic_policy(
                    self.region_name, self.account_id, backend.topics[arn].name
                )


class S3BucketPolicy(SandboxModel, CloudFormationModel):
    """``AWS::S3::BucketPolicy``."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> S3BucketPolicy:
        properties = cloudformation_json["Properties"]
        s3_backends[account_id][partition(region_name)].put_bucket_policy(
            properties["Bucket"], policy_json(properties["PolicyDocument"]).encode()
        )
        return cls(resource_name, properties, account_id, region_name)

    def _delete(self) -> None:
        backend = s3_backends[self.account_id][partition(self.region_name)]
        if self.properties["Bucket"] in backend.buckets:
            backend.delete_bucket_policy(self.properties["Bucket"])


class EventsEventBusPolicy(SandboxModel, CloudFormationModel):
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


MODELS = (SqsQueuePolicy, SnsTopicPolicy, S3BucketPolicy, EventsEventBusPolicy)
