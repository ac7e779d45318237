"""The cdk-nag AwsSolutionsChecks gate: every example passes it, and it is live."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from awspatterns.app import new_app
from awspatterns.synth import nag_violations


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
