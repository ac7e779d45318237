"""What an account holds, service by service: used to prove that a destroy leaves nothing behind."""

from __future__ import annotations

from typing import Any

__all__ = ["inventory", "leftovers"]


def inventory(session: Any) -> dict[str, set[str]]:
    """Names of the resources in the account (KMS keys pending deletion are not counted: AWS keeps them for a
    waiting period by design)."""
    s3 = session.client("s3")
    sqs = session.client("sqs")
    sns = session.client("sns")
    lambda_ = session.client("lambda")
    dynamodb = session.client("dynamodb")
    logs = session.client("logs")
    iam = session.client("iam")
    kms = session.client("kms")
    cloudformation = session.client("cloudformation")
    events = session.client("events")
    ssm = session.client("ssm")
    rds = session.client("rds")
    ec2 = session.client("ec2")
    return {
        "stacks": {
            s["StackName"]
            for s in cloudformation.list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        },
        "buckets": {b["Name"] for b in s3.list_buckets()["Buckets"]},
        "queues": set(sqs.list_queues().get("QueueUrls", [])),
        "topics": {t["TopicArn"] for t in sns.list_topics()["Topics"]},
        "subscriptions": {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]},
        "functions": {f["FunctionName"] for f in lambda_.list_functions()["Functions"]},
        "event_source_mappings": {m["UUID"] for m in lambda_.list_event_source_mappings()["EventSourceMappings"]},
        "tables": set(dynamodb.list_tables()["TableNames"]),
        "log_groups": {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]},
        "roles": {r["RoleName"] for r in iam.list_roles()["Roles"]},
        "policies": {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]},
        "kms_keys": {
            k["KeyId"]
            for k in kms.list_keys()["Keys"]
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
        },
        "event_buses": {b["Name"] for b in events.list_event_buses()["EventBuses"]} - {"default"},
        "parameters": {p["Name"] for p in ssm.describe_parameters()["Parameters"]},
        "secrets": {s["Name"] for s in session.client("secretsmanager").list_secrets()["SecretList"]},
        "db_clusters": {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]},
        "db_instances": {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]},
        "alarms": {a["AlarmName"] for a in session.client("cloudwatch").describe_alarms()["MetricAlarms"]},
        "rest_apis": {a["id"] for a in session.client("apigateway").get_rest_apis()["items"]},
        "streams": set(session.client("kinesis").list_streams()["StreamNames"]),
        "delivery_streams": set(session.client("firehose").list_delivery_streams()["DeliveryStreamNames"]),
        "vpcs": {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]},
        "subnets": {n["SubnetId"] for n in ec2.describe_subnets()["Subnets"]},
        "security_groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
        "route_tables": {t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]},
        "internet_gateways": {g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]},
        "nat_gateways": {
            g["NatGatewayId"] for g in ec2.describe_nat_gateways()["NatGateways"] if g["State"] != "deleted"
        },
        "elastic_ips": {a.get("AllocationId", a["PublicIp"]) for a in ec2.describe_addresses()["Addresses"]},
    }


def leftovers(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, set[str]]:
    """What ``after`` holds that ``before`` did not, by kind (empty when nothing is left)."""
    return {kind: names - before.get(kind, set()) for kind, names in after.items() if names - before.get(kind, set())}
