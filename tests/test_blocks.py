"""The building blocks as constructs: ids nest, grants reach the block's role, defaults hold, X-Ray stands apart."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match, Template

from awspatterns import REPO_ROOT
from awspatterns.blocks import (
    POWERTOOLS_LAYER_ACCOUNT,
    PYTHON_RUNTIME,
    AccessLogBucket,
    PythonFunction,
    QueueWithDlq,
    SecureBucket,
    api_gateway_logging_role,
    secure_rest_api,
)

HANDLERS = REPO_ROOT / "examples" / "s3-fanout" / "handlers"
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


@pytest.fixture(scope="module")
def blocks() -> tuple[cdk.Stack, PythonFunction, Template]:
    stack = cdk.Stack(cdk.App(), "Blocks")
    function = PythonFunction(
        stack, "Fn", code_dir=HANDLERS, handler="indexer.index.handler", description="A test", environment={"A": "1"}
    )
    table = dynamodb.Table(
        stack, "Table", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
    )
    table.grant_read_data(function)  # the block is an iam.IGrantable
    logs = AccessLogBucket(stack, "AccessLogs")
    SecureBucket(stack, "Uploads", access_logs=logs.bucket)
    QueueWithDlq(stack, "Work")
    return stack, function, Template.from_stack(stack)


def logical_id(stack: cdk.Stack, construct: object) -> str:
    return stack.get_logical_id(construct.node.default_child)  # type: ignore[attr-defined]


def statements(template: Template, logical: str) -> list[dict[str, Any]]:
    return template.to_json()["Resources"][logical]["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def test_parts_nest_under_the_block_and_the_main_resource_keeps_the_block_id(blocks):
    stack, function, _ = blocks
    assert function.role.node.path == "Blocks/Fn/Role"
    assert function.log_group.node.path == "Blocks/Fn/Logs"
    assert function.xray_policy.node.path == "Blocks/Fn/XRay"
    assert logical_id(stack, function.function).startswith("Fn")
    assert not logical_id(stack, function.function).startswith("FnDefault")
    assert logical_id(stack, function.role).startswith("FnRole")


def test_function_defaults(blocks):
    stack, function, template = blocks
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": PYTHON_RUNTIME.name,
            "Architectures": ["x86_64"],
            "MemorySize": 256,
            "Timeout": 30,
            "TracingConfig": {"Mode": "Active"},
            "Layers": [
                {
                    "Fn::Join": [
                        "",
                        Match.array_with(
                            [
                                Match.string_like_regexp(
                                    f":{POWERTOOLS_LAYER_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-"
                                )
                            ]
                        ),
                    ]
                }
            ],
            "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": "Fn", "POWERTOOLS_LOG_LEVEL": "INFO", "A": "1"}},
            "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("^FnLogs")}},
            "Role": {"Fn::GetAtt": [Match.string_like_regexp("^FnRole"), "Arn"]},
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    role = template.to_json()["Resources"][logical_id(stack, function.role)]
    assert "ManagedPolicyArns" not in role["Properties"]  # its own role, not AWSLambdaBasicExecutionRole
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }


def test_xray_is_granted_by_its_own_policy_and_the_function_waits_for_it(blocks):
    stack, function, template = blocks
    xray = logical_id(stack, function.xray_policy)
    assert statements(template, xray) == [{"Action": XRAY_ACTIONS, "Effect": "Allow", "Resource": "*"}]
    default_policy = logical_id(stack, function.role.node.find_child("DefaultPolicy"))
    granted = [s["Action"] for s in statements(template, default_policy)]
    assert not any("xray" in str(action) for action in granted)
    function_resource = template.to_json()["Resources"][logical_id(stack, function.function)]
    assert xray in function_resource["DependsOn"]


def test_grants_to_the_block_reach_its_roles_default_policy(blocks):
    stack, function, template = blocks
    default_policy = logical_id(stack, function.role.node.find_child("DefaultPolicy"))
    actions = {a for s in statements(template, default_policy) for a in s["Action"]}
    assert {"dynamodb:GetItem", "dynamodb:Query", "logs:PutLogEvents"} <= actions
    assert not any(a.startswith("dynamodb:Put") for a in actions)


def test_bucket_and_queue_defaults(blocks):
    _, _, template = blocks
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": {"DestinationBucketName": Match.any_value(), "LogFilePrefix": "Uploads/"},
        },
    )
    queues = template.find_resources("AWS::SQS::Queue")
    work = next(q for name, q in queues.items() if name.startswith("Work") and not name.startswith("WorkDlq"))
    dlq = next(q for name, q in queues.items() if name.startswith("WorkDlq"))
    assert work["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in queues.values())


def test_a_function_in_a_vpc_gets_lambdas_network_actions_in_a_policy_of_its_own(tmp_path):
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk.assertions import Template

    from awspatterns.app import recommended_feature_flags
    from awspatterns.blocks import PythonFunction

    app = cdk.App(outdir=str(tmp_path), context=recommended_feature_flags())  # no nag gate: the VPC is minimal
    stack = cdk.Stack(app, "InVpc")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text("def handler(event, context):\n    return event\n")
    block = PythonFunction(stack, "Fn", code_dir=code, handler="index.handler", description="d", vpc=vpc)
    template = Template.from_stack(stack)
    assert block.network_policy is not None
    policy = template.find_resources("AWS::IAM::Policy")
    network = next(p for n, p in policy.items() if n.startswith("FnNetwork"))
    [statement] = network["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == "*" and "ec2:CreateNetworkInterface" in statement["Action"]
    function = next(f for n, f in template.find_resources("AWS::Lambda::Function").items() if n.startswith("Fn"))
    assert any(d.startswith("FnNetwork") for d in function["DependsOn"]), function["DependsOn"]
    role = next(r for n, r in template.find_resources("AWS::IAM::Role").items() if n.startswith("Fn"))
    assert "ManagedPolicyArns" not in role["Properties"]


def test_rest_api_defaults_and_per_method_metrics_only_when_asked():
    stack = cdk.Stack(cdk.App(), "Apis")
    for name, metrics in (("Plain", False), ("Measured", True)):
        api = secure_rest_api(stack, name, description=name, stage_name="v1", rate_limit=2.5, metrics=metrics)
        api.root.add_method("GET", apigateway.MockIntegration())
    stages = {
        name: stage["Properties"]
        for name, stage in Template.from_stack(stack).find_resources("AWS::ApiGateway::Stage").items()
    }
    settings = {name.split("DeploymentStage")[0]: props["MethodSettings"][0] for name, props in stages.items()}
    assert "MetricsEnabled" not in settings["Plain"]  # the template of an API without the option is unchanged
    assert settings["Measured"]["MetricsEnabled"] is True
    for setting in settings.values():
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (2.5, 200)
        assert (setting["LoggingLevel"], setting["DataTraceEnabled"]) == ("ERROR", False)


def test_the_logging_role_is_made_once_per_stack_and_every_stage_waits_for_it():
    stack = cdk.Stack(cdk.App(), "Apis")
    apis = []
    for name in ("First", "Second"):
        api = secure_rest_api(stack, name, description=name, stage_name="v1")
        api.root.add_method("GET", apigateway.MockIntegration())
        apis.append(api)
    # a stack's own call, then a construct that creates its own API calling it again
    role = api_gateway_logging_role(stack, apis[0])
    assert api_gateway_logging_role(stack, apis[1]) is role
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    template.resource_count_is("AWS::IAM::Role", 1)
    for stage in template.find_resources("AWS::ApiGateway::Stage").values():
        assert stage["DependsOn"] == ["ApiGatewayAccount"]
