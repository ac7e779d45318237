"""The cdk-nag AwsSolutionsChecks gate: every example passes it, and it is live."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from awspatterns import REPO_ROOT
from awspatterns.app import new_app
from awspatterns.blocks import PythonFunction
from awspatterns.synth import nag_violations

HANDLERS = REPO_ROOT / "examples" / "s3-fanout" / "handlers"


def test_every_example_passes_the_gate_with_reasons(assemblies):
    for slug, assembly in assemblies.items():
        assert nag_violations(assembly.directory) == [], slug
        for template in assembly.templates.values():
            assert template["Resources"], slug


def test_every_acknowledgement_carries_a_reason(assemblies):
    seen = 0
    for assembly in assemblies.values():
        for metadata_file in assembly.directory.glob("*.metadata.json"):
            for path, entries in json.loads(metadata_file.read_text()).items():
                for entry in entries:
                    if entry["type"] == "aws:cdk:acknowledged-rules":
                        for rule, reason in entry["data"].items():
                            seen += 1
                            assert len(reason) > 20, (path, rule)
    assert seen > 0, "expected the examples' acknowledgements in the cloud assembly metadata"


def test_wildcard_resource_acknowledgements_sit_on_single_purpose_policies_never_on_a_role(assemblies):
    # A wildcard acknowledged on a whole role (or its default policy) would silently accept any later wildcard grant
    # to that role; a policy of its own that holds only actions taking no resource (X-Ray, network interfaces,
    # ListStreams) cannot grow unnoticed. CDK's own custom-resource providers are the exception.
    for assembly in assemblies.values():
        for metadata_file in assembly.directory.glob("*.metadata.json"):
            for path, entries in json.loads(metadata_file.read_text()).items():
                for entry in entries:
                    if entry["type"] == "aws:cdk:acknowledged-rules" and any(
                        rule.endswith("AwsSolutions-IAM5[Resource::*]") for rule in entry["data"]
                    ):
                        name = path.rsplit("/", 1)[-1]
                        on_a_role = name.endswith("Role") or name == "DefaultPolicy"
                        assert not on_a_role or name.startswith(("BucketNotificationsHandler", "Custom::")), path


def test_a_naive_stack_fails_the_gate(tmp_path):
    app = new_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Naive")
    s3.Bucket(stack, "Bucket")
    sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    sns.Topic(stack, "Topic")
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    rules = {rule for rule, _ in nag_violations(tmp_path)}
    # No access logs, no TLS-only policies, no encryption, no DLQ: each a named finding.
    assert {
        "AwsSolutions-S1",
        "AwsSolutions-S10",
        "AwsSolutions-SQS3",
        "AwsSolutions-SQS4",
        "AwsSolutions-SNS3",
    } <= rules


def function_stack(outdir) -> tuple[cdk.App, PythonFunction]:
    app = new_app(outdir=str(outdir))
    stack = cdk.Stack(app, "Blocks")
    function = PythonFunction(stack, "Fn", code_dir=HANDLERS, handler="indexer.index.handler", description="A test")
    return app, function


def test_a_function_block_alone_passes_the_gate(tmp_path):
    app, _ = function_stack(tmp_path)
    app.synth()
    assert nag_violations(tmp_path) == []


def test_a_wildcard_grant_on_a_function_role_fails_the_gate(tmp_path):
    # The X-Ray acknowledgement covers the X-Ray policy only: a later wildcard on the role is a finding.
    app, function = function_stack(tmp_path)
    function.role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    assert nag_violations(tmp_path) == [("AwsSolutions-IAM5[Resource::*]", "Blocks/Fn/Role/DefaultPolicy/Resource")]
