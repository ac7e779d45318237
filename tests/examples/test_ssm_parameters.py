"""ssm-parameters: template assertions, the cdk-nag gate, the consumer's unit tests (moto in-process) and bad input.

The end-to-end tests, which deploy the app into sandbox accounts, are in tests/e2e/test_ssm_parameters_e2e.py.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Match, Template
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from pydantic import ValidationError

from awspatterns.catalog import get_pattern
from awspatterns.synth import synth

SLUG = "ssm-parameters"
ROOT = "/serverless-patterns/demo"
CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:awspatterns-demo"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:awspatterns/demo/database-AbCdEf"


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def templates(assemblies) -> dict[str, Template]:
    return {name: Template.from_json(t) for name, t in assemblies[SLUG].templates.items()}


@pytest.fixture(scope="module")
def exports_templates(tmp_path_factory) -> dict[str, Template]:
    assembly = synth(get_pattern(SLUG), tmp_path_factory.mktemp("exports"), {"sharing": "exports"})
    return {name: Template.from_json(t) for name, t in assembly.templates.items()}


def published(template: Template) -> dict[str, Any]:
    return {
        r["Properties"]["Name"]: r["Properties"]["Value"]
        for r in template.find_resources("AWS::SSM::Parameter").values()
    }


def test_the_network_is_two_isolated_tiers_over_two_zones_with_endpoints_and_flow_logs(templates):
    network = templates["SharedNetwork"]
    network.resource_count_is("AWS::EC2::Subnet", 4)
    network.resource_count_is("AWS::EC2::NatGateway", 0)
    network.resource_count_is("AWS::EC2::InternetGateway", 0)
    network.resource_count_is("AWS::EC2::FlowLog", 1)
    services = [
        json.dumps(r["Properties"]["ServiceName"]) for r in network.find_resources("AWS::EC2::VPCEndpoint").values()
    ]
    assert sorted(s.rsplit(".", 1)[-1].split('"')[0] for s in services) == ["rds-data", "secretsmanager", "ssm"]
    assert set(published(network)) == {
        f"{ROOT}/network/{name}"
        for name in (
            "vpc-id",
            "vpc-cidr",
            "application-subnet-ids",
            "data-subnet-ids",
            "application-subnet-cidrs",
            "data-subnet-cidrs",
        )
    }


def test_the_database_is_encrypted_backed_up_rotated_and_reachable_only_from_the_application_tier(templates):
    database = templates["SharedDatabase"]
    database.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "DBClusterIdentifier": "awspatterns-demo",
            "EnableHttpEndpoint": True,
            "StorageEncrypted": True,
            "KmsKeyId": Match.object_like({"Fn::GetAtt": Match.any_value()}),
            "BackupRetentionPeriod": 7,
            "DeletionProtection": False,
            "EnableCloudwatchLogsExports": ["postgresql"],
        },
    )
    database.has_resource_properties(
        "AWS::SecretsManager::RotationSchedule",
        {
            "HostedRotationLambda": Match.object_like({"RotationType": "PostgreSQLSingleUser"}),
            "RotationRules": {"ScheduleExpression": "rate(30 days)"},
        },
    )
    database.has_resource_properties("AWS::SecretsManager::Secret", {"Name": "awspatterns/demo/database"})
    ingress = database.find_resources("AWS::EC2::SecurityGroupIngress")
    rules = [r["Properties"] for r in ingress.values()] + [
        rule
        for group in database.find_resources("AWS::EC2::SecurityGroup").values()
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ]
    assert rules and all(rule.get("CidrIp") != "0.0.0.0/0" and rule["FromPort"] == 5432 for rule in rules)
    assert set(published(database)) == {
        f"{ROOT}/database/{name}"
        for name in ("cluster-arn", "cluster-resource-id", "endpoint", "port", "secret-arn", "database-name")
    }


def test_deletion_protection_is_a_switch(tmp_path):
    assembly = synth(get_pattern(SLUG), tmp_path, {"deletion_protection": "true"})
    database = Template.from_json(assembly.templates["SharedDatabase"])
    database.has_resource("AWS::RDS::DBCluster", {"Properties": Match.object_like({"DeletionProtection": True})})
    database.has_resource("AWS::RDS::DBCluster", {"DeletionPolicy": "Snapshot"})


def test_with_parameters_no_stack_imports_another(templates):
    for name, template in templates.items():
        assert "Fn::ImportValue" not in json.dumps(template.to_json()), name
        assert "Export" not in json.dumps(template.to_json().get("Outputs", {})), name


def test_with_exports_the_consumer_imports_the_database_stacks_outputs(exports_templates):
    consumer = json.dumps(exports_templates["ParameterConsumer"].to_json())
    assert consumer.count("Fn::ImportValue") == 2


def test_the_consumer_may_read_its_parameters_and_query_only_the_named_database(templates):
    consumer = templates["ParameterConsumer"]
    policy = next(
        p for n, p in consumer.find_resources("AWS::IAM::Policy").items() if n.startswith("ConsumerRoleDefaultPolicy")
    )
    statements = {
        ",".join(s["Action"]) if isinstance(s["Action"], list) else s["Action"]: json.dumps(s["Resource"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert set(statements) == {
        "logs:CreateLogStream,logs:PutLogEvents",
        "ssm:GetParametersByPath",
        "rds-data:ExecuteStatement",
        "secretsmanager:GetSecretValue",
    }
    assert statements["ssm:GetParametersByPath"].endswith(':parameter/serverless-patterns/demo/database"]]}')
    assert statements["rds-data:ExecuteStatement"].endswith(':cluster:awspatterns-demo"]]}')
    assert statements["secretsmanager:GetSecretValue"].endswith(':secret:awspatterns/demo/database-??????"]]}')
    consumer.has_resource_properties(
        "AWS::Lambda::Function",
        {"VpcConfig": Match.object_like({"SubnetIds": Match.any_value()}), "Environment": Match.any_value()},
    )


# ---------------------------------------------------------------- the consumer, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DATABASE_PARAMETERS", f"{ROOT}/database")
    parameters.clear_caches()
    with mock_aws():
        ssm = boto3.client("ssm")
        for name, value in (("cluster-arn", CLUSTER_ARN), ("secret-arn", SECRET_ARN), ("database-name", "catalog")):
            ssm.put_parameter(Name=f"{ROOT}/database/{name}", Value=value, Type="String")
        yield ssm
    parameters.clear_caches()


@pytest.fixture
def consumer(aws, handler_loader):
    return handler_loader(SLUG, "consumer.index")


ROW = {"records": [[{"stringValue": "catalog"}, {"stringValue": "app_admin"}, {"stringValue": "PostgreSQL 16.4 on x"}]]}


def expect_statement(stubber: Stubber, secret_arn: str = SECRET_ARN) -> None:
    stubber.add_response(
        "execute_statement",
        ROW,
        {
            "resourceArn": CLUSTER_ARN,
            "secretArn": secret_arn,
            "database": "catalog",
            "sql": "SELECT current_database(), current_user, version()",
        },
    )


def test_the_consumer_finds_the_database_by_its_parameters(consumer, lambda_context):
    with Stubber(consumer.data_api) as stubber:
        expect_statement(stubber)
        answer = consumer.handler({}, lambda_context)
    assert answer == {
        "database": "catalog",
        "user": "app_admin",
        "version": "PostgreSQL 16.4",
        "cluster_arn": CLUSTER_ARN,
        "cluster_resource_id": None,
        "found_by": f"parameters under {ROOT}/database",
    }


def test_a_replaced_database_is_found_by_reading_the_parameters_afresh_once(aws, consumer, lambda_context):
    with Stubber(consumer.data_api) as stubber:
        expect_statement(stubber)
        consumer.handler({}, lambda_context)  # the parameters are cached now
        new_secret = SECRET_ARN[:-6] + "GhIjKl"
        aws.put_parameter(Name=f"{ROOT}/database/secret-arn", Value=new_secret, Type="String", Overwrite=True)
        stubber.add_client_error("execute_statement", "BadRequestException", "secret not found")
        expect_statement(stubber, new_secret)
        assert consumer.handler({}, lambda_context)["database"] == "catalog"
        stubber.assert_no_pending_responses()


def test_a_database_that_fails_after_a_fresh_read_is_an_error_not_a_loop(aws, consumer, lambda_context):
    with Stubber(consumer.data_api) as stubber:
        stubber.add_client_error("execute_statement", "BadRequestException", "database is starting")
        stubber.add_client_error("execute_statement", "BadRequestException", "database is starting")
        with pytest.raises(ClientError, match="database is starting"):
            consumer.handler({}, lambda_context)
        stubber.assert_no_pending_responses()


def test_missing_parameters_say_which_and_where(aws, consumer, lambda_context):
    aws.delete_parameter(Name=f"{ROOT}/database/secret-arn")
    with pytest.raises(consumer.DatabaseNotFound, match=f"no secret-arn under {ROOT}/database: is the database"):
        consumer.handler({"fresh": True}, lambda_context)


def test_the_exports_variant_reads_its_imported_environment(monkeypatch, consumer, lambda_context):
    monkeypatch.delenv("DATABASE_PARAMETERS")
    monkeypatch.setenv("CLUSTER_ARN", CLUSTER_ARN)
    monkeypatch.setenv("SECRET_ARN", SECRET_ARN)
    with Stubber(consumer.data_api) as stubber:
        expect_statement(stubber)
        assert consumer.handler({}, lambda_context)["found_by"] == "exports"


@pytest.mark.parametrize(
    "event",
    [{"fresh": "yes"}, {"fresh": 1}, {"refresh": True}, [], "malformed", None],
    ids=["string-flag", "number-flag", "unknown-field", "list", "malformed-string", "null"],
)
def test_malformed_requests_are_refused_before_any_call(consumer, lambda_context, event):
    with Stubber(consumer.data_api) as stubber, pytest.raises(ValidationError):
        consumer.handler(event, lambda_context)
    stubber.assert_no_pending_responses()


def test_parameters_missing_from_the_cache_are_read_afresh_before_giving_up(aws, consumer, lambda_context):
    """While the database stack was gone, an empty answer was cached; once it is back, the next call finds it."""
    names = [f"{ROOT}/database/{n}" for n in ("cluster-arn", "secret-arn", "database-name")]
    values = {n: aws.get_parameter(Name=n)["Parameter"]["Value"] for n in names}
    for name in names:
        aws.delete_parameter(Name=name)
    with pytest.raises(consumer.DatabaseNotFound):
        consumer.handler({}, lambda_context)
    for name, value in values.items():
        aws.put_parameter(Name=name, Value=value, Type="String")
    with Stubber(consumer.data_api) as stubber:
        expect_statement(stubber)
        assert consumer.handler({}, lambda_context)["database"] == "catalog"
