"""Log and delivery-stream resource types moto 5.2.5 skips in CloudFormation: ``KinesisFirehose::DeliveryStream``
(direct put to S3), ``Logs::SubscriptionFilter`` and ``Logs::LogStream``."""

from __future__ import annotations

import contextlib
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.firehose.models import firehose_backends
from moto.logs.models import logs_backends

from awspatterns.sandbox.cloudformation.base import SandboxModel
from awspatterns.sandbox.errors import SandboxUnsupported

__all__ = ["MODELS", "FirehoseDeliveryStream", "LogsLogStream", "LogsSubscriptionFilter"]


class FirehoseDeliveryStream(SandboxModel, CloudFormationModel):
    """``AWS::KinesisFirehose::DeliveryStream`` with a direct-put source and an S3 destination."""

    ATTRIBUTES = ("Arn",)
    arn: str

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KinesisFirehose::DeliveryStream"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> FirehoseDeliveryStream:
        properties = cloudformation_json["Properties"]
        stream_type = properties.get("DeliveryStreamType", "DirectPut")
        extended = properties.get("ExtendedS3DestinationConfiguration")
        plain = properties.get("S3DestinationConfiguration")
        if stream_type != "DirectPut" or not (extended or plain):
            raise SandboxUnsupported(
                f"delivery stream {kwargs.get('LogicalId', resource_name)}: the sandbox runs DirectPut streams to S3"
            )
        name = properties.get("DeliveryStreamName") or resource_name[:64]
        backend = firehose_backends[account_id][region_name]
        arn = backend.create_delivery_stream(
            region=region_name,
            delivery_stream_name=name,
            delivery_stream_type=stream_type,
            kinesis_stream_source_configuration={},
            delivery_stream_encryption_configuration_input=properties.get(
                "DeliveryStreamEncryptionConfigurationInput", {}
            ),
            s3_destination_configuration=plain or {},
            extended_s3_destination_configuration=extended or {},
            redshift_destination_configuration={},
            elasticsearch_destination_configuration={},
            splunk_destination_configuration={},
            http_endpoint_destination_configuration={},
            snowflake_destination_configuration={},
            iceberg_destination_configuration={},
            tags=properties.get("Tags") or [],
        )
        model = cls(name, properties, account_id, region_name)
        model.arn = arn
        return model

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    def _delete(self) -> None:
        with contextlib.suppress(Exception):
            firehose_backends[self.account_id][self.region_name].delete_delivery_stream(self.physical_resource_id)


class LogsSubscriptionFilter(SandboxModel, CloudFormationModel):
    """``AWS::Logs::SubscriptionFilter``: a log group's events go to Lambda, Firehose or Kinesis."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::SubscriptionFilter"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> LogsSubscriptionFilter:
        properties = cloudformation_json["Properties"]
        name = properties.get("FilterName") or resource_name
        logs_backends[account_id][region_name].put_subscription_filter(
            properties["LogGroupName"],
            name,
            properties.get("FilterPattern", ""),
            properties["DestinationArn"],
            properties.get("RoleArn", ""),
        )
        return cls(name, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the log group may have gone first
            logs_backends[self.account_id][self.region_name].delete_subscription_filter(
                self.properties["LogGroupName"], self.physical_resource_id
            )


class LogsLogStream(SandboxModel, CloudFormationModel):
    """``AWS::Logs::LogStream``."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogStream"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> LogsLogStream:
        properties = cloudformation_json["Properties"]
        name = properties.get("LogStreamName") or resource_name
        logs_backends[account_id][region_name].create_log_stream(properties["LogGroupName"], name)
        return cls(name, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):
            logs_backends[self.account_id][self.region_name].delete_log_stream(
                self.properties["LogGroupName"], self.physical_resource_id
            )


MODELS = (FirehoseDeliveryStream, LogsSubscriptionFilter, LogsLogStream)
