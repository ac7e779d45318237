"""Templates CloudFormation refuses, refused by the sandbox the same way: a ``ValidationError`` (HTTP 400) with
CloudFormation's message from ``CreateStack``, ``UpdateStack``, ``CreateChangeSet`` and ``ValidateTemplate``,
before anything is created, so no stack is left behind and a stack being updated keeps its template."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

QUEUE = {"Type": "AWS::SQS::Queue"}
GOOD = {"Resources": {"Queue": QUEUE}}


def queue_named(value):
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": value}}


def resources(**named):
    return json.dumps({"Resources": named})


CIRCULAR = resources(A=queue_named({"Ref": "B"}), B=queue_named({"Fn::GetAtt": ["A", "QueueName"]}))
CIRCULAR_MESSAGE = "Circular dependency between resources: [A, B]"
MISSING_REF = resources(A=queue_named({"Ref": "DoesNotExist"}))
UNRESOLVED_MESSAGE = (
    "Template format error: Unresolved resource dependencies [DoesNotExist] in the Resources block of the template"
)

# One template per kind of refusal, with CloudFormation's message.
REFUSED = {
    "circular dependency": (CIRCULAR, CIRCULAR_MESSAGE),
    "a cycle and what depends on it": (
        resources(A={**QUEUE, "DependsOn": "B"}, B={**QUEUE, "DependsOn": "A"}, C={**QUEUE, "DependsOn": "A"}, D=QUEUE),
        "Circular dependency between resources: [A, B, C]",
    ),
    "a resource that depends on itself": (
        resources(A={**QUEUE, "DependsOn": ["A"]}),
        "Circular dependency between resources: [A]",
    ),
    "Ref to a missing resource": (MISSING_REF, UNRESOLVED_MESSAGE),
    "DependsOn a missing resource": (resources(A={**QUEUE, "DependsOn": "DoesNotExist"}), UNRESOLVED_MESSAGE),
    "Fn::Sub of a missing name": (resources(A=queue_named({"Fn::Sub": "q-${DoesNotExist}"})), UNRESOLVED_MESSAGE),
    "Fn::GetAtt of a missing resource": (
        resources(A=queue_named({"Fn::GetAtt": ["DoesNotExist", "QueueName"]})),
        "Template error: instance of Fn::GetAtt references undefined resource DoesNotExist",
    ),
    "Fn::GetAtt of a parameter": (
        json.dumps(
            {"Parameters": {"P": {"Type": "String"}}, "Resources": {"A": queue_named({"Fn::GetAtt": ["P", "Arn"]})}}
        ),
        "Template error: instance of Fn::GetAtt references undefined resource P",
    ),
    "an output naming a missing resource": (
        json.dumps({"Resources": {"A": QUEUE}, "Outputs": {"X": {"Value": {"Ref": "DoesNotExist"}}}}),
        "Template format error: Unresolved resource dependencies [DoesNotExist] in the Outputs block of the template",
    ),
    "broken JSON": (
        '{\n  "Resources": {\n    "A": {"Type" "AWS::SQS::Queue"}\n  }\n}',
        "Template format error: JSON not well-formed. (line 3, column 18)",
    ),
    "broken YAML": (
        "Resources:\n  A:\n    Type: AWS::SQS::Queue\n   Properties: {}\n",
        "Template format error: YAML not well-formed. (line 4, column 4)",
    ),
    "not a mapping": ("just some text", "Template format error: unsupported structure."),
    "no resources": (
        json.dumps({"Outputs": {"X": {"Value": "1"}}}),
        "Template format error: At least one Resources member must be defined.",
    ),
    "a resource without a type": (
        resources(A={"Properties": {}}),
        "Template format error: [/Resources/A] Every Resources object must contain a Type member.",
    ),
    "501 resources": (
        resources(**{f"R{n}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for n in range(501)}),
        "Template format error: Number of resources, 501, is greater than maximum allowed, 500",
    ),
}


def refusal(call, **kwargs) -> str:
    """The ValidationError message of a call that must be refused with HTTP 400."""
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationError", 400)
    return str(error["Error"]["Message"])


def stack_names(cloudformation):
    return [s["StackName"] for s in cloudformation.list_stacks()["StackSummaries"]]


@pytest.mark.parametrize("template, message", REFUSED.values(), ids=REFUSED.keys())
def test_create_stack_and_validate_template_refuse_it_and_nothing_is_created(account, template, message):
    cloudformation = account.client("cloudformation")
    assert message in refusal(cloudformation.create_stack, StackName="refused", TemplateBody=template)
    assert message in refusal(cloudformation.validate_template, TemplateBody=template)
    assert stack_names(cloudformation) == []
    assert account.client("sqs").list_queues().get("QueueUrls", []) == []


@pytest.mark.parametrize("template, message", [(CIRCULAR, CIRCULAR_MESSAGE), (MISSING_REF, UNRESOLVED_MESSAGE)])
def test_a_create_change_set_is_refused_and_leaves_no_stack_in_review(account, template, message):
    cloudformation = account.client("cloudformation")
    call = cloudformation.create_change_set
    assert message in refusal(
        call, StackName="refused", ChangeSetName="c1", ChangeSetType="CREATE", TemplateBody=template
    )
    assert stack_names(cloudformation) == []


@pytest.mark.parametrize("template, message", [(CIRCULAR, CIRCULAR_MESSAGE), (MISSING_REF, UNRESOLVED_MESSAGE)])
def test_an_update_is_refused_and_the_stack_keeps_its_template(account, template, message):
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName="kept", TemplateBody=json.dumps(GOOD))
    assert message in refusal(cloudformation.update_stack, StackName="kept", TemplateBody=template)
    update_set = {"StackName": "kept", "ChangeSetName": "c1", "ChangeSetType": "UPDATE", "TemplateBody": template}
    assert message in refusal(cloudformation.create_change_set, **update_set)
    [stack] = cloudformation.describe_stacks(StackName="kept")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert cloudformation.get_template(StackName="kept")["TemplateBody"] == GOOD
    events = cloudformation.describe_stack_events(StackName="kept")["StackEvents"]
    assert not any(e["ResourceStatus"].startswith("UPDATE") for e in events)


def test_what_resolves_is_accepted(account):
    """Parameters, pseudo parameters, an Fn::Sub's own variables and ${!Literal} are not missing resources; the
    short YAML forms are read as their long forms; 500 resources are allowed."""
    cloudformation = account.client("cloudformation")
    template = """
Parameters:
  Suffix: {Type: String, Default: blue}
Resources:
  First:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Name: !Sub /resolves/${Suffix}
      Value: !Sub
        - "${Prefix}-${Suffix}-${AWS::Region}-${!Literal}"
        - Prefix: !Select [0, [first, other]]
  Second:
    Type: AWS::SQS::Queue
    DependsOn: First
    Properties:
      QueueName: !Join ["-", [second, !Ref AWS::AccountId]]
Outputs:
  Name: {Value: !Ref First}
  Arn: {Value: !GetAtt Second.Arn}
"""
    cloudformation.validate_template(TemplateBody=template)
    cloudformation.create_stack(StackName="resolves", TemplateBody=template)
    [stack] = cloudformation.describe_stacks(StackName="resolves")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["Name"] == "/resolves/blue" and outputs["Arn"].endswith(f":second-{account.account_id}")
    value = account.client("ssm").get_parameter(Name="/resolves/blue")["Parameter"]["Value"]
    assert value == f"first-blue-{account.region_name}-${{Literal}}"
    handles = {f"R{n}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for n in range(500)}
    cloudformation.create_stack(StackName="five-hundred", TemplateBody=resources(**handles))
    assert cloudformation.describe_stacks(StackName="five-hundred")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def padded(size: int) -> str:
    """A valid template of exactly ``size`` bytes."""
    skeleton = json.dumps({"Resources": {"Queue": QUEUE}, "Metadata": {"Padding": ""}})
    body = skeleton.replace('"Padding": ""', '"Padding": "' + "x" * (size - len(skeleton)) + '"')
    assert len(body.encode()) == size
    return body


def test_a_template_body_over_51200_bytes_is_refused_as_the_api_does(account):
    cloudformation = account.client("cloudformation")
    too_big = padded(51_201)
    expected = "' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 51200"
    for call, extra in [
        (cloudformation.create_stack, {"StackName": "big"}),
        (cloudformation.validate_template, {}),
        (cloudformation.create_change_set, {"StackName": "big", "ChangeSetName": "c1", "ChangeSetType": "CREATE"}),
    ]:
        message = refusal(call, TemplateBody=too_big, **extra)
        assert message.startswith("1 validation error detected: Value '") and message.endswith(expected)
    assert stack_names(cloudformation) == []
    cloudformation.create_stack(StackName="at-the-limit", TemplateBody=padded(51_200))
    assert refusal(cloudformation.update_stack, StackName="at-the-limit", TemplateBody=too_big).endswith(expected)


def test_a_template_url_may_be_larger_but_not_over_1000000_bytes(account):
    cloudformation, s3 = account.client("cloudformation"), account.client("s3")
    s3.create_bucket(Bucket="templates")
    s3.put_object(Bucket="templates", Key="large.json", Body=padded(200_000).encode())
    s3.put_object(Bucket="templates", Key="too-large.json", Body=padded(1_000_001).encode())
    url = "https://templates.s3.amazonaws.com/{}".format
    cloudformation.create_stack(StackName="large", TemplateURL=url("large.json"))
    assert cloudformation.describe_stacks(StackName="large")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    expected = "Template may not exceed 1000000 bytes in size."
    assert refusal(cloudformation.create_stack, StackName="too-large", TemplateURL=url("too-large.json")) == expected
    assert refusal(cloudformation.validate_template, TemplateURL=url("too-large.json")) == expected
    assert refusal(cloudformation.update_stack, StackName="large", TemplateURL=url("too-large.json")) == expected
    assert "too-large" not in stack_names(cloudformation)
