"""ssm-parameters end to end: the consumer finds the database by its parameters, survives a secret rotation and a
replacement of the database stack; with exports, the same replacement is refused; the same app deploys to two
accounts."""

from __future__ import annotations

import pytest

from awspatterns.targets import assembly_deployer
from awspatterns.targets.assembly_deployer import DeployError

pytestmark = pytest.mark.e2e


# --8<-- [start:e2e]
def test_the_database_stack_is_replaced_while_its_consumer_stays_deployed(deploy_pattern):
    deployed = deploy_pattern("ssm-parameters")
    consumer_stack = deployed.session.client("cloudformation").describe_stacks(StackName="ParameterConsumer")

    report = deployed.run_client()

    first, rotation, replacement = report["first"], report["rotation"], report["replacement"]
    assert (first["database"], first["user"]) == ("catalog", "app_admin")
    assert first["found_by"] == "parameters under /serverless-patterns/demo/database"
    assert report["parameters"]["/serverless-patterns/demo/database/cluster-arn"] == first["cluster_arn"]
    assert rotation["current_version"] != rotation["previous_version"] and "database" in rotation["answer"]
    assert replacement["during"]["error"] == "DatabaseNotFound"  # the downtime window, stated by the consumer
    assert "is the database stack deployed?" in replacement["during"]["message"]
    after = replacement["after"]
    assert "error" not in after, after
    assert after["database"] == "catalog" and after["cluster_resource_id"] != first["cluster_resource_id"]
    assert after["cluster_arn"] == first["cluster_arn"]  # the fixed identifier: the consumer's grants still hold
    assert replacement["consumer_stack_untouched"]
    still = deployed.session.client("cloudformation").describe_stacks(StackName="ParameterConsumer")
    assert still["Stacks"][0]["StackId"] == consumer_stack["Stacks"][0]["StackId"]  # never redeployed
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


# --8<-- [start:exports]
def test_with_exports_the_database_stack_cannot_be_replaced_while_the_consumer_imports_it(deploy_pattern):
    deployed = deploy_pattern("ssm-parameters", {"sharing": "exports"})
    session, outputs = deployed.session, deployed.flat_outputs
    first = deployed.run_client(replace=False)["first"]
    assert first.get("found_by") == "exports", first

    refusal = (
        "Export serverless-patterns-demo-database-cluster-arn cannot be deleted as it is in use by ParameterConsumer"
    )
    with pytest.raises(DeployError, match=refusal):
        assembly_deployer.destroy_stacks(session, ["SharedDatabase"], progress=lambda _: None)

    status = session.client("cloudformation").describe_stacks(StackName="SharedDatabase")["Stacks"][0]["StackStatus"]
    assert status == "DELETE_FAILED"
    answer = deployed.run_client(replace=False)["first"]  # nothing was deleted: the consumer still answers
    assert answer["cluster_arn"] == outputs["ClusterArn"]
    assert deployed.destroy() == {}


# --8<-- [end:exports]


def test_the_same_app_deploys_to_two_accounts_each_with_its_own_database(deploy_pattern):
    first, second = deploy_pattern("ssm-parameters"), deploy_pattern("ssm-parameters")
    answers = [d.run_client(replace=False)["first"] for d in (first, second)]
    accounts = [answer["cluster_arn"].split(":")[4] for answer in answers]
    assert accounts == [first.session.account_id, second.session.account_id] and accounts[0] != accounts[1]
    assert all(answer["database"] == "catalog" for answer in answers)
    assert first.destroy() == {} and second.destroy() == {}
