"""Secret rotation in the sandbox: a CloudFormation rotation schedule with Secrets Manager's hosted PostgreSQL
rotation really changes the database password (new version AWSCURRENT, old one AWSPREVIOUS), a failed rotation
leaves the current password working, and what the sandbox cannot run is refused by name."""

from __future__ import annotations

import copy
import json
from typing import Any

import psycopg
import pytest
from test_rds import TEMPLATE

from awspatterns.sandbox.rds.rotation import rotation_days

SCHEDULE: dict[str, Any] = {
    "Type": "AWS::SecretsManager::RotationSchedule",
    "DependsOn": ["Attachment", "Writer"],
    "Properties": {
        "SecretId": {"Ref": "Attachment"},
        "HostedRotationLambda": {"RotationType": "PostgreSQLSingleUser", "VpcSubnetIds": "subnet-1,subnet-2"},
        "RotationRules": {"ScheduleExpression": "rate(30 days)"},
    },
}


def deploy(account, name, schedule):
    template = copy.deepcopy(TEMPLATE)
    template["Resources"]["Rotation"] = schedule
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    reasons = [
        e.get("ResourceStatusReason", "") for e in cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    ]
    return stack["StackStatus"], " ".join(reasons), {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def versions(secrets, arn):
    stages = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
    return {
        stage: json.loads(secrets.get_secret_value(SecretId=arn, VersionId=v)["SecretString"])
        for v, s in stages.items()
        for stage in s
    }


def can_sign_in(credentials):
    try:
        with psycopg.connect(
            host=credentials["host"],
            port=credentials["port"],
            user=credentials["username"],
            password=credentials["password"],
            dbname="orders",
            connect_timeout=5,
        ) as connection:
            return connection.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def test_a_hosted_rotation_changes_the_password_at_once_and_on_each_rotate_secret(account):
    status, reasons, outputs = deploy(account, "rotated", SCHEDULE)
    assert status == "CREATE_COMPLETE", reasons
    secrets, arn = account.client("secretsmanager"), outputs["SecretArn"]
    first = versions(secrets, arn)
    assert set(first) >= {"AWSCURRENT", "AWSPREVIOUS"}  # rotated on creation (RotateImmediatelyOnUpdate)
    assert first["AWSCURRENT"]["password"] != first["AWSPREVIOUS"]["password"]
    assert can_sign_in(first["AWSCURRENT"]) and not can_sign_in(first["AWSPREVIOUS"])
    description = secrets.describe_secret(SecretId=arn)
    assert description["RotationEnabled"] and description["RotationRules"]["AutomaticallyAfterDays"] == 30

    secrets.rotate_secret(SecretId=arn)
    second = versions(secrets, arn)
    assert second["AWSPREVIOUS"]["password"] == first["AWSCURRENT"]["password"]
    assert can_sign_in(second["AWSCURRENT"]) and not can_sign_in(first["AWSCURRENT"])
    data = account.client("rds-data")  # the Data API reads the current version: it keeps working
    answer = data.execute_statement(resourceArn=outputs["ClusterArn"], secretArn=arn, database="orders", sql="SELECT 1")
    assert answer["records"] == [[{"longValue": 1}]]


def test_a_failed_rotation_keeps_the_current_password_working(account):
    status, reasons, outputs = deploy(account, "failing", SCHEDULE)
    assert status == "CREATE_COMPLETE", reasons
    secrets, arn = account.client("secretsmanager"), outputs["SecretArn"]
    current = versions(secrets, arn)["AWSCURRENT"]
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({**current, "port": 1}))  # unreachable database
    broken = versions(secrets, arn)["AWSCURRENT"]

    secrets.rotate_secret(SecretId=arn)  # answers at once, as on AWS; the rotation fails behind it

    after = versions(secrets, arn)
    assert after["AWSCURRENT"] == broken and "AWSPENDING" in after  # nothing promoted; the pending version stays
    assert can_sign_in(current)  # the database password did not change


def test_what_the_sandbox_cannot_rotate_fails_the_stack_by_name(account):
    multi_user = copy.deepcopy(SCHEDULE)
    multi_user["Properties"]["HostedRotationLambda"]["RotationType"] = "PostgreSQLMultiUser"
    status, reasons, _ = deploy(account, "multi-user", multi_user)
    assert (
        status == "ROLLBACK_COMPLETE" and "hosted rotation 'PostgreSQLMultiUser' is not run by the sandbox" in reasons
    )


@pytest.mark.parametrize(
    ("rules", "days"),
    [({"AutomaticallyAfterDays": 7}, 7), ({"ScheduleExpression": "rate(30 days)"}, 30), ({}, None)],
)
def test_rotation_periods_are_read_from_days_or_rate_expressions(rules, days):
    assert rotation_days(rules) == days


def test_a_cron_schedule_is_refused_rather_than_misread():
    with pytest.raises(Exception, match="the sandbox reads rate"):
        rotation_days({"ScheduleExpression": "cron(0 8 1 * ? *)"})


def test_moving_awscurrent_then_putting_a_value_leaves_one_current_version(account):
    """What a rotation function's finishSecret does through the API, followed by an ordinary update."""
    secrets = account.client("secretsmanager")
    first = secrets.create_secret(Name="labels", SecretString="one")["VersionId"]
    second = secrets.put_secret_value(SecretId="labels", SecretString="two", VersionStages=["AWSPENDING"])["VersionId"]
    secrets.update_secret_version_stage(
        SecretId="labels", VersionStage="AWSCURRENT", RemoveFromVersionId=first, MoveToVersionId=second
    )
    assert secrets.get_secret_value(SecretId="labels")["SecretString"] == "two"
    third = secrets.put_secret_value(SecretId="labels", SecretString="three")["VersionId"]
    stages = secrets.describe_secret(SecretId="labels")["VersionIdsToStages"]
    assert [v for v, s in stages.items() if "AWSCURRENT" in s] == [third]
    assert [v for v, s in stages.items() if "AWSPREVIOUS" in s] == [second]
