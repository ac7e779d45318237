"""The AWS service vocabulary shared by ``pattern.toml``, diagrams and synthesized templates.

One table maps a service's catalog name to the CloudFormation namespace it synthesizes to, so the three views of
a pattern (its metadata, its diagram, its template) can be compared mechanically.
"""

from collections.abc import Iterable

__all__ = [
    "ICON_SERVICES",
    "PLUMBING_PREFIXES",
    "SERVICES",
    "service_of_icon",
    "service_of_type",
    "services_in_template",
]

#: Catalog service name -> CloudFormation type prefix.
SERVICES: dict[str, str] = {
    "API Gateway": "AWS::ApiGateway::",
    "CloudWatch": "AWS::CloudWatch::",
    "DynamoDB": "AWS::DynamoDB::",
    "EventBridge": "AWS::Events::",
    "Firehose": "AWS::KinesisFirehose::",
    "Glue": "AWS::Glue::",
    "Kinesis": "AWS::Kinesis::",
    "KMS": "AWS::KMS::",
    "Lambda": "AWS::Lambda::",
    "RDS": "AWS::RDS::",
    "S3": "AWS::S3::",
    "Secrets Manager": "AWS::SecretsManager::",
    "SNS": "AWS::SNS::",
    "SQS": "AWS::SQS::",
    "SSM": "AWS::SSM::",
    "VPC": "AWS::EC2::",
}

#: Plumbing every stack has; a diagram does not draw it.
PLUMBING_PREFIXES = ("AWS::IAM::", "AWS::Logs::", "AWS::CDK::", "Custom::")


def service_of_type(resource_type: str) -> str | None:
    """Return the catalog service of a CloudFormation resource type, or ``None`` for plumbing.

    Raises:
        KeyError: the type belongs to a service the vocabulary does not know yet (add it to ``SERVICES``).
    """
    if resource_type.startswith(PLUMBING_PREFIXES):
        return None
    for name, prefix in SERVICES.items():
        if resource_type.startswith(prefix):
            return name
    raise KeyError(f"no catalog service for CloudFormation type {resource_type!r}; add it to SERVICES")


def services_in_template(template: dict[str, object]) -> set[str]:
    """The catalog services a synthesized CloudFormation template uses."""
    resources = template.get("Resources", {})
    assert isinstance(resources, dict)
    types: Iterable[str] = (resource["Type"] for resource in resources.values())
    return {service for service in map(service_of_type, types) if service is not None}


#: Icon file name prefix (``diagrams`` package, ``resources/aws/...``) -> catalog service.
ICON_SERVICES: dict[str, str] = {
    "api-gateway": "API Gateway",
    "cloudwatch": "CloudWatch",
    "dynamodb": "DynamoDB",
    "eventbridge": "EventBridge",
    "kinesis-data-firehose": "Firehose",
    "glue": "Glue",
    "glue-data-catalog": "Glue",
    "kinesis-data-streams": "Kinesis",
    "key-management-service": "KMS",
    "lambda": "Lambda",
    "rds": "RDS",
    "aurora": "RDS",
    "simple-storage-service-s3": "S3",
    "secrets-manager": "Secrets Manager",
    "simple-notification-service-sns": "SNS",
    "simple-queue-service-sqs": "SQS",
    "systems-manager": "SSM",
    "vpc": "VPC",
    "private-subnet": "VPC",
    "public-subnet": "VPC",
    "endpoint": "VPC",  # interface (PrivateLink) endpoints of a VPC
}


def service_of_icon(icon: str) -> str | None:
    """The catalog service an AWS icon stands for; ``None`` for non-AWS icons (clients, users)."""
    if not icon.startswith("resources/aws/") or icon.startswith("resources/aws/general/"):
        return None
    name = icon.rsplit("/", 1)[-1]
    for prefix, service in ICON_SERVICES.items():
        if name.startswith(prefix):
            return service
    raise KeyError(f"no catalog service for diagram icon {icon!r}; add it to ICON_SERVICES")
