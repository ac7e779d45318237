"""The constructs the catalog's patterns are built from deploy into the sandbox and leave nothing behind."""

from __future__ import annotations

from coverage_stack import build

from awspatterns.sandbox.inventory import inventory, leftovers
from awspatterns.targets import assembly_deployer


def test_pattern_building_blocks_deploy_work_and_are_destroyed_completely(sandbox, tmp_path):
    session = sandbox.session("501000000001")
    assembly_deployer.bootstrap(session)
    before = inventory(session)
    outputs = assembly_deployer.deploy_assembly(session, build(tmp_path / "cdk.out"), progress=lambda _: None)[
        "Coverage"
    ]

    answer = session.client("rds-data").execute_statement(
        resourceArn=outputs["ClusterArn"], secretArn=outputs["SecretArn"], database="catalog", sql="select 41 + 1"
    )
    assert answer["records"] == [[{"longValue": 42}]]
    assert (
        session.client("ssm").get_parameter(Name="/coverage/cluster-arn")["Parameter"]["Value"] == outputs["ClusterArn"]
    )
    ec2 = session.client("ec2")
    [vpc] = [v for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]]
    [default_group] = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert default_group["IpPermissions"] == [] and default_group["IpPermissionsEgress"] == []  # restricted by CDK
    policy = session.client("events").describe_event_bus(Name="coverage-central")["Policy"]
    assert "111111111111" in policy and "222222222222" in policy

    assembly_deployer.destroy_stacks(session, ["Coverage"], progress=lambda _: None)
    assert leftovers(before, inventory(session)) == {}
