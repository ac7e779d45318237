"""The assembly deployer sends what CloudFormation accepts: templates over the inline limit go through S3."""

from __future__ import annotations

import json

import pytest

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


def multi_account_assembly(directory, accounts: dict[str, str | None]):
    """A cloud assembly with one small stack per entry: name -> the account it is for (``None``: agnostic)."""
    directory.mkdir()
    artifacts = {}
    for name, account in accounts.items():
        template = {
            "Resources": {
                "P": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {"Name": f"/multi/{name}", "Type": "String", "Value": name},
                }
            }
        }
        template["Outputs"] = {"Name": {"Value": {"Ref": "P"}}}
        (directory / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{account or 'unknown-account'}/us-east-1",
            "properties": {"templateFile": f"{name}.template.json"},
            "displayName": name,
        }
    (directory / "manifest.json").write_text(json.dumps({"version": "40.0.0", "artifacts": artifacts}))
    return directory


def test_each_stack_synthesized_for_an_account_deploys_into_that_account(sandbox, account, tmp_path):
    other = sandbox.session(str(int(account.account_id) + 1))
    assembly = multi_account_assembly(tmp_path / "cdk.out", {"Here": None, "There": other.account_id})

    outputs = assembly_deployer.deploy_assembly(account, assembly, progress=lambda _: None, session_for=sandbox.session)

    assert set(outputs) == {"Here", "There"}

    def stacks(session):
        summaries = session.client("cloudformation").list_stacks()["StackSummaries"]
        return {s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}

    assert stacks(account) == {"Here"} and stacks(other) == {"There"}
    assert other.client("s3").head_bucket(Bucket=f"cdk-hnb659fds-assets-{other.account_id}-us-east-1")  # bootstrapped
    assembly_deployer.destroy_assembly(account, assembly, progress=lambda _: None, session_for=sandbox.session)
    assert stacks(account) == set() and stacks(other) == set()


def test_a_stack_for_another_account_needs_a_session_for_it(account, tmp_path):
    assembly = multi_account_assembly(tmp_path / "cdk.out", {"There": "210987654321"})
    with pytest.raises(assembly_deployer.DeployError, match="is for account 210987654321"):
        assembly_deployer.deploy_assembly(account, assembly, progress=lambda _: None)
