"""CloudWatch alarms in CloudFormation (moto 5.2.5 skips ``AWS::CloudWatch::Alarm`` in its stacks)."""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel

from awspatterns.sandbox.cloudformation.base import SandboxModel
from awspatterns.sandbox.errors import SandboxUnsupported

__all__ = ["MODELS", "CloudWatchAlarm"]


class CloudWatchAlarm(SandboxModel, CloudFormationModel):
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


MODELS = (CloudWatchAlarm,)
