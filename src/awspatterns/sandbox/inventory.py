"""What an account holds, service by service: used to prove that a destroy leaves nothing behind.

Every list call reads all its pages: a leak check that reads the first page only (moto answers
``DescribeParameters`` ten at a time, ``DescribeLogGroups`` and ``ListEventBuses`` fifty) would miss leftovers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["inventory", "leftovers"]


def _paged(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item under ``key`` of a list call, page after page: through boto3's paginator where the service has
    one, else by following ``NextToken``."""
    if client.can_paginate(operation):
        pages = client.get_paginator(operation).paginate(**params)
        return [item for page in pages for item in page.get(key, [])]
    items: list[Any] = []
    while True:
        page = getattr(client, operation)(**params)
        items.extend(page.get(key, []))
        if not page.get("NextToken"):
            return items
        params = {**params, "NextToken": page["NextToken"]}


def _delivery_streams(firehose: Any) -> set[str]:
    """Firehose pages by the last name seen rather than by a token."""
    names: list[str] = []
    while True:
        start = {"ExclusiveStartDeliveryStreamName": names[-1]} if names else {}
        page = firehose.list_delivery_streams(**start)
        names.extend(page["DeliveryStreamNames"])
        if not page.get("HasMoreDeliveryStreams") or not page["DeliveryStreamNames"]:
            return set(names)


def inventory(session: Any) -> dict[str, set[str]]:
    """Names of the resources in the account (KMS keys pending deletion are not counted: AWS keeps them for a
    waiting period by design)."""
    lambda_ = session.client("lambda")
    iam = session.client("iam")
    kms = session.client("kms")
    sns = session.client("sns")
    rds = session.client("rds")
    ec2 = session.client("ec2")
    return {
        "stacks": {
            s["StackName"]
            for s in _paged(session.client("cloudformation"), "list_stacks", "StackSummaries")
            if s["StackStatus"] != "DELETE_COMPLETE"
        },
        "buckets": {b["Name"] for b in _paged(session.client("s3"), "list_buckets", "Buckets")},
        "queues": set(_paged(session.client("sqs"), "list_queues", "QueueUrls")),
        "topics": {t["TopicArn"] for t in _paged(sns, "list_topics", "Topics")},
        "subscriptions": {s["SubscriptionArn"] for s in _paged(sns, "list_subscriptions", "Subscriptions")},
        "functions": {f["FunctionName"] for f in _paged(lambda_, "list_functions", "Functions")},
        "event_source_mappings": {
            m["UUID"] for m in _paged(lambda_, "list_event_source_mappings", "EventSourceMappings")
        },
        "tables": set(_paged(session.client("dynamodb"), "list_tables", "TableNames")),
        "log_groups": {g["logGroupName"] for g in _paged(session.client("logs"), "describe_log_groups", "logGroups")},
        "roles": {r["RoleName"] for r in _paged(iam, "list_roles", "Roles")},
        "policies": {p["PolicyName"] for p in _paged(iam, "list_policies", "Policies", Scope="Local")},
        "kms_keys": {
            k["KeyId"]
            for k in _paged(kms, "list_keys", "Keys")
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
        },
        "event_buses": {b["Name"] for b in _paged(session.client("events"), "list_event_buses", "EventBuses")}
        - {"default"},
        "parameters": {p["Name"] for p in _paged(session.client("ssm"), "describe_parameters", "Parameters")},
        "secrets": {s["Name"] for s in _paged(session.client("secretsmanager"), "list_secrets", "SecretList")},
        "db_clusters": {c["DBClusterIdentifier"] for c in _paged(rds, "describe_db_clusters", "DBClusters")},
        "db_instances": {i["DBInstanceIdentifier"] for i in _paged(rds, "describe_db_instances", "DBInstances")},
        "alarms": {a["AlarmName"] for a in _paged(session.client("cloudwatch"), "describe_alarms", "MetricAlarms")},
        "rest_apis": {a["id"] for a in _paged(session.client("apigateway"), "get_rest_apis", "items")},
        "streams": set(_paged(session.client("kinesis"), "list_streams", "StreamNames")),
        "delivery_streams": _delivery_streams(session.client("firehose")),
        "glue_databases": {d["Name"] for d in _paged(session.client("glue"), "get_databases", "DatabaseList")},
        "vpcs": {v["VpcId"] for v in _paged(ec2, "describe_vpcs", "Vpcs")},
        "subnets": {n["SubnetId"] for n in _paged(ec2, "describe_subnets", "Subnets")},
        "security_groups": {g["GroupId"] for g in _paged(ec2, "describe_security_groups", "SecurityGroups")},
        "route_tables": {t["RouteTableId"] for t in _paged(ec2, "describe_route_tables", "RouteTables")},
        "internet_gateways": {
            g["InternetGatewayId"] for g in _paged(ec2, "describe_internet_gateways", "InternetGateways")
        },
        "nat_gateways": {
            g["NatGatewayId"] for g in _paged(ec2, "describe_nat_gateways", "NatGateways") if g["State"] != "deleted"
        },
        "elastic_ips": {a.get("AllocationId", a["PublicIp"]) for a in _paged(ec2, "describe_addresses", "Addresses")},
    }


def leftovers(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, set[str]]:
    """What ``after`` holds that ``before`` did not, by kind (empty when nothing is left)."""
    return {kind: names - before.get(kind, set()) for kind, names in after.items() if names - before.get(kind, set())}
