"""Firehose, log subscriptions and network rules in the sandbox's CloudFormation: buffered, compressed,
time-partitioned delivery to S3 as Firehose documents it."""

from __future__ import annotations

import gzip
import json
import re

import pytest

PIPELINE = {
    "Resources": {
        "Lake": {"Type": "AWS::S3::Bucket"},
        # Firehose writes with its delivery role: it must trust the service and allow s3:PutObject.
        "DeliveryRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "firehose",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "firehose.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "write",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
                        },
                    }
                ],
            },
        },
        "Stream": {
            "Type": "AWS::KinesisFirehose::DeliveryStream",
            "Properties": {
                "DeliveryStreamType": "DirectPut",
                "ExtendedS3DestinationConfiguration": {
                    "BucketARN": {"Fn::GetAtt": ["Lake", "Arn"]},
                    "RoleARN": {"Fn::GetAtt": ["DeliveryRole", "Arn"]},
                    "Prefix": "events/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/",
                    "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
                    "CompressionFormat": "GZIP",
                    "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1},
                },
            },
        },
        # CloudWatch Logs puts subscribed events with the filter's role: it must trust logs and allow the put.
        "LogsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "put",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "firehose:PutRecord",
                                    "Resource": {"Fn::GetAtt": ["Stream", "Arn"]},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "AppLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/app/orders"}},
        "AppStream": {
            "Type": "AWS::Logs::LogStream",
            "Properties": {"LogGroupName": {"Ref": "AppLogs"}, "LogStreamName": "main"},
        },
        "ToLake": {
            "Type": "AWS::Logs::SubscriptionFilter",
            "Properties": {
                "LogGroupName": {"Ref": "AppLogs"},
                "FilterPattern": "",
                "DestinationArn": {"Fn::GetAtt": ["Stream", "Arn"]},
                "RoleArn": {"Fn::GetAtt": ["LogsRole", "Arn"]},
            },
        },
    },
    "Outputs": {"Bucket": {"Value": {"Ref": "Lake"}}, "StreamName": {"Value": {"Ref": "Stream"}}},
}


@pytest.fixture
def pipeline(account):
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName="pipeline", TemplateBody=json.dumps(PIPELINE))
    stack = cloudformation.describe_stacks(StackName="pipeline")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def objects(account, bucket):
    s3 = account.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def test_records_are_buffered_into_one_gzipped_object_under_the_expanded_prefix(account, pipeline, quiesce):
    firehose = account.client("firehose")
    for batch in range(3):
        firehose.put_record_batch(
            DeliveryStreamName=pipeline["StreamName"],
            Records=[{"Data": f'{{"batch": {batch}, "n": {n}}}\n'.encode()} for n in range(2)],
        )
    assert objects(account, pipeline["Bucket"]) == {}  # still buffered
    assert quiesce()

    [(key, body)] = objects(account, pipeline["Bucket"]).items()
    assert re.fullmatch(rf"events/\d{{4}}/\d\d/\d\d/{pipeline['StreamName']}-1-[\d-]{{19}}-[0-9a-f-]{{36}}\.gz", key)
    lines = gzip.decompress(body).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"batch": b, "n": n} for b in range(3) for n in range(2)]


def test_a_full_buffer_is_delivered_at_once(account, pipeline):
    big = b"x" * (600 * 1024)
    firehose = account.client("firehose")
    firehose.put_record(DeliveryStreamName=pipeline["StreamName"], Record={"Data": big})
    assert objects(account, pipeline["Bucket"]) == {}
    firehose.put_record(DeliveryStreamName=pipeline["StreamName"], Record={"Data": big})  # now over 1 MiB
    [body] = objects(account, pipeline["Bucket"]).values()
    assert gzip.decompress(body) == big + big


def test_a_log_subscription_feeds_the_delivery_stream(account, pipeline, quiesce):
    account.client("logs").put_log_events(
        logGroupName="/app/orders",
        logStreamName="main",
        logEvents=[{"timestamp": 1_795_000_000_000, "message": "order o-1 placed"}],
    )
    assert quiesce()
    [body] = objects(account, pipeline["Bucket"]).values()
    # CloudWatch Logs sends gzipped batches; the stream compresses again, as in AWS.
    batch = json.loads(gzip.decompress(gzip.decompress(body)))
    assert batch["logGroup"] == "/app/orders" and batch["logStream"] == "main"
    assert [e["message"] for e in batch["logEvents"]] == ["order o-1 placed"]


def test_deleting_the_stack_removes_the_stream_and_the_subscription(account, pipeline):
    account.client("cloudformation").delete_stack(StackName="pipeline")
    assert account.client("firehose").list_delivery_streams()["DeliveryStreamNames"] == []
    assert account.client("logs").describe_log_groups()["logGroups"] == []


def test_security_group_egress_rules_are_created_and_revoked(account):
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "app", "VpcId": {"Ref": "Vpc"}, "SecurityGroupEgress": []},
            },
            "ToDatabase": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]},
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "CidrIp": "10.0.1.0/24",
                },
            },
        },
        "Outputs": {"GroupId": {"Value": {"Fn::GetAtt": ["Group", "GroupId"]}}},
    }
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName="network", TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName="network")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    group_id = stack["Outputs"][0]["OutputValue"]
    [group] = account.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432} in [
        {k: rule.get(k) for k in ("IpProtocol", "FromPort", "ToPort")} for rule in group["IpPermissionsEgress"]
    ]
    cloudformation.delete_stack(StackName="network")
    assert account.client("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/16"]}])["Vpcs"] == []
