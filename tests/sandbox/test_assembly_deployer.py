"""The assembly deployer sends what CloudFormation accepts: templates over the inline limit go through S3."""

from __future__ import annotations

import json

from awspatterns.targets import assembly_deployer


def large_assembly(directory, parameters: int = 30, size: int = 2000):
    """A one-stack cloud assembly whose template is larger than CloudFormation takes inline."""
    template = {
        "Resources": {
            f"Parameter{i}": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": f"/large/p{i}", "Type": "String", "Value": "x" * size},
            }
            for i in range(parameters)
        }
    }
    directory.mkdir()
    (directory / "Large.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "40.0.0",
        "artifacts": {
            "Large": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Large.template.json"},
                "displayName": "Large",
            }
        },
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_a_template_over_the_inline_limit_is_deployed_through_the_bootstrap_bucket(account, tmp_path):
    assembly = large_assembly(tmp_path / "cdk.out")
    assert (assembly / "Large.template.json").stat().st_size > assembly_deployer.MAX_INLINE_TEMPLATE_BYTES

    assembly_deployer.deploy_assembly(account, assembly, progress=lambda _: None)

    stack = account.client("cloudformation").describe_stacks(StackName="Large")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    bucket = assembly_deployer.bootstrap(account)
    keys = [o["Key"] for o in account.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(key.startswith("cdk/templates/Large-") for key in keys)
    pages = account.client("ssm").get_paginator("get_parameters_by_path").paginate(Path="/large")
    assert sum(len(page["Parameters"]) for page in pages) == 30
    assembly_deployer.destroy_stacks(account, ["Large"], progress=lambda _: None)
