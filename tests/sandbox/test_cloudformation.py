"""The sandbox's CloudFormation: clear failures, custom resources, deletion order, and a server that keeps
serving after bad input."""

from __future__ import annotations

import json

import pytest
from lambda_code import create_function
from moto.cloudformation.parsing import get_model_map

CUSTOM_RESOURCE = """
import json, os, urllib.request

def handler(event, context):
    mode = os.environ["MODE"]
    if mode == "silent":
        return
    body = {"Status": "FAILED" if mode == "fail" else "SUCCESS", "Reason": "asked to fail",
            "PhysicalResourceId": "custom-123", "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {"Echo": event["ResourceProperties"]["Flag"] + "/" + event["ResourceProperties"]["Count"]}}
    request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT")
    urllib.request.urlopen(request).read()
"""


def stack_status(account, name):
    stack = account.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in account.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    ]
    return stack["StackStatus"], " ".join(reasons), stack


def create(account, name, resources, outputs=None):
    template = {"Resources": resources, **({"Outputs": outputs} if outputs else {})}
    account.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return stack_status(account, name)


def test_an_unsupported_type_fails_the_stack_naming_the_resource_and_rolls_back(account):
    assert "AWS::Bedrock::Agent" not in get_model_map()
    status, reasons, _ = create(
        account,
        "unsupported",
        {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Agent": {"Type": "AWS::Bedrock::Agent", "Properties": {"AgentName": "x"}, "DependsOn": "Queue"},
        },
    )
    assert status == "ROLLBACK_COMPLETE"
    assert "resource Agent has type AWS::Bedrock::Agent, which the sandbox cannot create" in reasons
    assert account.client("sqs").list_queues().get("QueueUrls", []) == []  # the queue was rolled back


@pytest.mark.parametrize("mode", ["fail", "silent"])
def test_a_failing_or_silent_custom_resource_fails_the_stack_instead_of_hanging(account, mode):
    function = create_function(account, "provider", CUSTOM_RESOURCE, environment={"MODE": mode})
    status, reasons, _ = create(
        account,
        f"custom-{mode}",
        {"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": function, "Flag": True, "Count": 3}}},
    )
    assert status == "ROLLBACK_COMPLETE"
    expected = "failed: asked to fail" if mode == "fail" else "sent no response"
    assert f"custom resource Thing (Custom::Thing) {expected}" in reasons


def test_a_custom_resource_gets_string_properties_and_its_data_feeds_outputs(account):
    function = create_function(account, "provider", CUSTOM_RESOURCE, environment={"MODE": "ok"})
    status, _, stack = create(
        account,
        "custom-ok",
        {"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": function, "Flag": True, "Count": 3}}},
        outputs={"Echo": {"Value": {"Fn::GetAtt": ["Thing", "Echo"]}}, "Id": {"Value": {"Ref": "Thing"}}},
    )
    assert status == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == {"Echo": "true/3", "Id": "custom-123"}  # CloudFormation stringifies scalars


def test_a_malformed_template_is_rejected_and_the_server_keeps_serving(account):
    cloudformation = account.client("cloudformation")
    with pytest.raises(cloudformation.exceptions.ClientError):
        cloudformation.create_stack(StackName="malformed", TemplateBody="{ this is not a template")
    assert account.client("sqs").create_queue(QueueName="still-serving")["QueueUrl"]


def test_accounts_are_isolated(sandbox, account):
    account.client("sqs").create_queue(QueueName="private")
    other = sandbox.session("source-b")
    assert not any("private" in url for url in other.client("sqs").list_queues().get("QueueUrls", []))


def test_a_create_change_set_creates_the_stack_like_create_stack(account):
    """What `cdk deploy` sends: CREATE change set, then execute. Outputs, exports and failures must behave as they
    do for create_stack (moto's own change-set path dropped outputs and exports)."""
    cloudformation = account.client("cloudformation")
    template = {
        "Parameters": {"Suffix": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "q-${Suffix}"}}}},
        "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}, "Export": {"Name": "shared-queue"}}},
    }
    for name, template_body, parameters in [
        ("via-change-set", template, [{"ParameterKey": "Suffix", "ParameterValue": "blue"}]),
        ("broken-change-set", {"Resources": {"Agent": {"Type": "AWS::Bedrock::Agent"}}}, []),
    ]:
        cloudformation.create_change_set(
            StackName=name,
            ChangeSetName="cdk-deploy-change-set",  # the same name for every stack, as `cdk deploy` does
            ChangeSetType="CREATE",
            TemplateBody=json.dumps(template_body),
            Parameters=parameters,
        )
        assert stack_status(account, name)[0] == "REVIEW_IN_PROGRESS"

    cloudformation.execute_change_set(ChangeSetName="cdk-deploy-change-set", StackName="via-change-set")
    status, _, stack = stack_status(account, "via-change-set")
    assert status == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"].endswith(":q-blue")
    assert [e["Name"] for e in cloudformation.list_exports()["Exports"]] == ["shared-queue"]

    cloudformation.execute_change_set(ChangeSetName="cdk-deploy-change-set", StackName="broken-change-set")
    status, reasons, _ = stack_status(account, "broken-change-set")
    assert status == "ROLLBACK_COMPLETE" and "AWS::Bedrock::Agent" in reasons


def test_a_resource_deleted_outside_the_stack_counts_as_deleted(account):
    """CloudFormation deletes the rest of the stack when one resource is already gone, as AWS does."""
    cloudformation = account.client("cloudformation")
    template = {
        "Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs-gone"}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "topic-stays"}},
        }
    }
    cloudformation.create_stack(StackName="Partly", TemplateBody=json.dumps(template))
    sqs = account.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="jobs-gone")["QueueUrl"])

    cloudformation.delete_stack(StackName="Partly")

    assert [
        s["StackName"] for s in cloudformation.list_stacks(StackStatusFilter=["DELETE_FAILED"])["StackSummaries"]
    ] == []
    assert account.client("sns").list_topics()["Topics"] == []


def test_a_rolled_back_stack_shows_no_outputs_and_describing_it_creates_nothing(account):
    """Its outputs would name resources the failure never created; resolving them used to create them."""
    status, _, stack = create(
        account,
        "rolled-back",
        {
            "Agent": {"Type": "AWS::Bedrock::Agent", "Properties": {"AgentName": "x"}},
            "Late": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "late"}, "DependsOn": "Agent"},
        },
        outputs={"LateArn": {"Value": {"Fn::GetAtt": ["Late", "Arn"]}}},
    )
    assert status == "ROLLBACK_COMPLETE" and "Outputs" not in stack
    account.client("cloudformation").describe_stacks(StackName="rolled-back")
    assert account.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_stack_whose_export_is_imported_cannot_be_deleted_until_the_importer_is(account):
    cloudformation = account.client("cloudformation")
    exporter = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}, "Export": {"Name": "orders-queue"}}},
    }
    importer = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Imported": {"Value": {"Fn::ImportValue": "orders-queue"}}},
    }
    cloudformation.create_stack(StackName="exporter", TemplateBody=json.dumps(exporter))
    cloudformation.create_stack(StackName="importer", TemplateBody=json.dumps(importer))

    cloudformation.delete_stack(StackName="exporter")  # accepted, then refused, as CloudFormation does

    status, reasons, _ = stack_status(account, "exporter")
    assert status == "DELETE_FAILED"
    assert "Export orders-queue cannot be deleted as it is in use by importer" in reasons
    assert len(account.client("sqs").list_queues()["QueueUrls"]) == 1  # nothing of it was deleted
    cloudformation.delete_stack(StackName="importer")
    cloudformation.delete_stack(StackName="exporter")
    assert [
        s["StackName"] for s in cloudformation.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
    ] == []
    assert account.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_template_parameter_naming_a_missing_ssm_parameter_is_refused_by_name(account):
    cloudformation = account.client("cloudformation")
    template = {
        "Parameters": {"VpcId": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/shared/vpc-id"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Vpc": {"Value": {"Ref": "VpcId"}}},
    }
    with pytest.raises(cloudformation.exceptions.ClientError, match=r"Unable to fetch parameters \[/shared/vpc-id\]"):
        cloudformation.create_stack(StackName="reads-ssm", TemplateBody=json.dumps(template))
    account.client("ssm").put_parameter(Name="/shared/vpc-id", Value="vpc-123", Type="String")
    cloudformation.create_stack(StackName="reads-ssm", TemplateBody=json.dumps(template))
    assert stack_status(account, "reads-ssm")[2]["Outputs"][0]["OutputValue"] == "vpc-123"


def test_a_roles_inline_policy_reads_back_as_a_policy_document(account):
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
    }
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    status, _, _ = create(
        account,
        "inline-policy",
        {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "inline",
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [{"PolicyName": "Send", "PolicyDocument": document}],
                },
            }
        },
    )
    assert status == "CREATE_COMPLETE"
    assert account.client("iam").get_role_policy(RoleName="inline", PolicyName="Send")["PolicyDocument"] == document


def test_get_stack_output_reads_another_stacks_output_once_and_holds_it_weakly(sandbox, account):
    """What the CDK writes for references between the stacks of one app: resolved at create time; it does not
    block the other stack's deletion, and the consumer keeps the value it read."""
    cloudformation = account.client("cloudformation")
    producer = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "produced"}}},
        "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}}},
    }
    consumer = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Read": {"Value": {"Fn::GetStackOutput": {"StackName": "producer", "OutputName": "QueueArn"}}}},
    }
    cloudformation.create_stack(StackName="early", TemplateBody=json.dumps(consumer))
    status, reasons, _ = stack_status(account, "early")
    assert status == "ROLLBACK_COMPLETE" and "Stack with id producer does not exist" in reasons
    cloudformation.create_stack(StackName="producer", TemplateBody=json.dumps(producer))
    cloudformation.create_stack(StackName="consumer", TemplateBody=json.dumps(consumer))
    read = stack_status(account, "consumer")[2]["Outputs"][0]["OutputValue"]
    assert read == f"arn:aws:sqs:us-east-1:{account.account_id}:produced"
    cloudformation.delete_stack(StackName="producer")  # a weak reference blocks nothing
    assert stack_status(account, "consumer")[2]["Outputs"][0]["OutputValue"] == read

    other = sandbox.session("404000000404")  # another account's stack, through the role named in the reference
    other.client("cloudformation").create_stack(StackName="producer", TemplateBody=json.dumps(producer))
    across = json.loads(
        json.dumps(consumer).replace('"OutputName"', '"RoleArn": "arn:aws:iam::404000000404:role/reader", "OutputName"')
    )
    cloudformation.create_stack(StackName="across", TemplateBody=json.dumps(across))
    assert stack_status(account, "across")[2]["Outputs"][0]["OutputValue"].split(":")[4] == "404000000404"
