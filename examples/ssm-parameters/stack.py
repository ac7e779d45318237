"""Shared infrastructure that publishes its identifiers to SSM Parameter Store, and a consumer that reads them.

Three stacks, each a thin wrapper around one construct:

* ``SharedNetwork``: a VPC over two availability zones with an application tier and a data tier (isolated
  subnets, no NAT), interface endpoints for the AWS APIs the functions call, flow logs. Publishes the VPC's ids.
* ``SharedDatabase``: Aurora PostgreSQL Serverless v2 with the Data API, credentials in Secrets Manager rotated
  by a hosted rotation function, a customer-managed key, backups. Reads the network's ids at deploy time;
  publishes the cluster's identifiers.
* ``ParameterConsumer``: a function in the application tier that reads the database's parameters at run time.

With ``-c sharing=exports`` the same app wires the consumer with CloudFormation exports instead (what this
pattern avoids), so the end-to-end test can show the difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import PythonFunction

HANDLERS = Path(__file__).parent / "handlers"
Sharing = Literal["parameters", "exports"]


# --8<-- [start:path]
class ParameterPath:
    """Where one environment's shared infrastructure publishes what others need: ``/serverless-patterns/<env>/...``.

    Publishers and consumers agree on names, not on stacks: a consumer needs no reference to the stack that wrote
    a parameter, so either can be replaced, or deployed to another account, on its own.
    """

    def __init__(self, environment: str) -> None:
        self.environment = environment
        self.root = f"/serverless-patterns/{environment}"  # a name may not begin with "aws" or "ssm"
        self.network = f"{self.root}/network"
        self.database = f"{self.root}/database"

    def publish(self, scope: Construct, group: str, values: dict[str, str]) -> None:
        """Write ``values`` as String parameters under ``<root>/<group>/``."""
        for name, value in values.items():
            ssm.StringParameter(
                scope,
                f"Parameter-{group}-{name}",
                parameter_name=f"{self.root}/{group}/{name}",
                string_value=value,
                description=f"Published by {cdk.Stack.of(scope).stack_name}; read by name, never imported",
            )

    def read(self, scope: Construct, group: str, name: str) -> str:
        """A parameter's value at deploy time (a CloudFormation parameter of type SSM, resolved by the deploy)."""
        return ssm.StringParameter.value_for_string_parameter(scope, f"{self.root}/{group}/{name}")

    def database_cluster_identifier(self) -> str:
        """The cluster's name: fixed per environment, so a replacement keeps its ARN and grants stay valid."""
        return f"awspatterns-{self.environment}"

    def export_name(self, name: str) -> str:
        """The CloudFormation export of the database's ``name``, in the exports variant only."""
        return f"serverless-patterns-{self.environment}-database-{name}"

    def database_secret_name(self) -> str:
        """The credentials secret's name (Secrets Manager appends six random characters to its ARN)."""
        return f"awspatterns/{self.environment}/database"


# --8<-- [end:path]


def vpc_view(scope: Construct, path: ParameterPath, tier: str) -> tuple[ec2.IVpc, ec2.SubnetSelection]:
    """The shared VPC as seen from another stack, built from the network's parameters: one tier's subnets."""
    vpc = ec2.Vpc.from_vpc_attributes(
        scope,
        "SharedVpc",
        vpc_id=path.read(scope, "network", "vpc-id"),
        availability_zones=[cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(2)],
        isolated_subnet_ids=cdk.Fn.split(",", path.read(scope, "network", f"{tier}-subnet-ids"), 2),
    )
    for subnet in vpc.isolated_subnets:
        cdk.Annotations.of(subnet).acknowledge_warning(
            "@aws-cdk/aws-ec2:noSubnetRouteTableId", "Consumers add no routes: route tables stay the network's."
        )
    return vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


# --8<-- [start:network]
class SharedNetwork(Construct):
    """A VPC over two availability zones: an application tier and a data tier, both isolated (no NAT gateway,
    no internet route), interface endpoints for SSM, Secrets Manager and the RDS Data API so functions in either
    tier reach those APIs privately, and flow logs of rejected and accepted traffic.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        path: where to publish the VPC's identifiers.
        cidr: the VPC's address range.

    Attributes:
        vpc: the VPC.
    """

    def __init__(self, scope: Construct, construct_id: str, *, path: ParameterPath, cidr: str = "10.40.0.0/16") -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=[f"{stack.region}a", f"{stack.region}b"]
            if not cdk.Token.is_unresolved(stack.region)
            else None,
            max_azs=2,
            nat_gateways=0,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="application", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
        )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        endpoints = ec2.SecurityGroup(
            self, "EndpointsSecurityGroup", vpc=self.vpc, description="HTTPS to the AWS API endpoints from the VPC"
        )
        endpoints.add_ingress_rule(ec2.Peer.ipv4(self.vpc.vpc_cidr_block), ec2.Port.tcp(443), "AWS APIs from the VPC")
        acknowledge(
            endpoints,
            {"AwsSolutions-EC23": "The range is the VPC's own CIDR, a token cdk-nag cannot read: never 0.0.0.0/0."},
        )
        for name, service in (
            ("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM),
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
            ("RdsData", ec2.InterfaceVpcEndpointAwsService.RDS_DATA),
        ):
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=ec2.SubnetSelection(subnet_group_name="application"),
                security_groups=[endpoints],
            )
        tiers = {tier: self.vpc.select_subnets(subnet_group_name=tier).subnets for tier in ("application", "data")}
        path.publish(
            self,
            "network",
            {
                "vpc-id": self.vpc.vpc_id,
                "vpc-cidr": self.vpc.vpc_cidr_block,
                **{
                    f"{tier}-subnet-ids": cdk.Fn.join(",", [s.subnet_id for s in subnets])
                    for tier, subnets in tiers.items()
                },
                **{
                    f"{tier}-subnet-cidrs": cdk.Fn.join(",", [s.ipv4_cidr_block for s in subnets])
                    for tier, subnets in tiers.items()
                },
            },
        )


# --8<-- [end:network]


# --8<-- [start:database]
class SharedDatabase(Construct):
    """Aurora PostgreSQL Serverless v2 in the data tier, with the Data API on and credentials in Secrets Manager,
    rotated every 30 days by Secrets Manager's hosted rotation function (PostgreSQL single user).

    The cluster and its secret have names fixed per environment (see :class:`ParameterPath`), so a replaced
    database keeps its ARNs and the consumers' grants stay valid; its endpoint, resource id and secret ARN are
    published for run-time readers. Storage is encrypted with a customer-managed key; backups are kept 7 days.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        path: where to read the network's identifiers and publish the database's.
        deletion_protection: refuse deletion of the cluster (switch off for demos; keep on in production).
        database_name: the database created in the cluster.

    Attributes:
        cluster: the Aurora cluster.
        secret: its credentials.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        path: ParameterPath,
        deletion_protection: bool = False,
        database_name: str = "catalog",
    ) -> None:
        super().__init__(scope, construct_id)
        vpc, data_tier = vpc_view(self, path, "data")
        application_cidrs = cdk.Fn.split(",", path.read(self, "network", "application-subnet-cidrs"), 2)
        security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, description="PostgreSQL from the application tier only"
        )
        for index in range(2):  # by the tier's address ranges: consumers in other stacks need no rule here
            security_group.add_ingress_rule(
                ec2.Peer.ipv4(cdk.Fn.select(index, application_cidrs)), ec2.Port.tcp(5432), "application tier"
            )
        acknowledge(
            security_group,
            {
                "AwsSolutions-EC23": "The ranges are the application subnets', read from the network's parameters at "
                "deploy time (tokens cdk-nag cannot read): never 0.0.0.0/0."
            },
        )
        key = kms.Key(
            self,
            "StorageKey",
            description=f"Encrypts the {path.environment} database's storage",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            pending_window=cdk.Duration.days(7),
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_4),
            cluster_identifier=path.database_cluster_identifier(),
            credentials=rds.Credentials.from_generated_secret("app_admin", secret_name=path.database_secret_name()),
            default_database_name=database_name,
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            serverless_v2_min_capacity=0.5,
            serverless_v2_max_capacity=4,
            enable_data_api=True,
            iam_authentication=True,
            vpc=vpc,
            vpc_subnets=data_tier,
            security_groups=[security_group],
            storage_encrypted=True,
            storage_encryption_key=key,
            backup=rds.BackupProps(retention=cdk.Duration.days(7)),
            cloudwatch_logs_exports=["postgresql"],
            deletion_protection=deletion_protection,
            removal_policy=cdk.RemovalPolicy.SNAPSHOT if deletion_protection else cdk.RemovalPolicy.DESTROY,
        )
        assert self.cluster.secret is not None
        self.secret: secretsmanager.ISecret = self.cluster.secret
        rotation = ec2.SecurityGroup(self, "RotationSecurityGroup", vpc=vpc, description="The rotation function")
        security_group.add_ingress_rule(rotation, ec2.Port.tcp(5432), "the secret's rotation function")
        self.secret.add_rotation_schedule(
            "Rotation",
            hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user(
                vpc=vpc, vpc_subnets=data_tier, security_groups=[rotation]
            ),
            automatically_after=cdk.Duration.days(30),
        )
        path.publish(
            self,
            "database",
            {
                "cluster-arn": self.cluster.cluster_arn,
                "cluster-resource-id": self.cluster.cluster_resource_identifier,
                "endpoint": self.cluster.cluster_endpoint.hostname,
                "port": cdk.Token.as_string(self.cluster.cluster_endpoint.port),
                "secret-arn": self.secret.secret_arn,
                "database-name": database_name,
            },
        )
        findings = {
            "AwsSolutions-RDS11": "The default port: hiding PostgreSQL on another port is no control; the "
            "security group admits the application tier only.",
        }
        if not deletion_protection:
            findings["AwsSolutions-RDS10"] = "Deletion protection is off in the demo so it can be destroyed; "
            "deploy with -c deletion_protection=true to keep a real database."
        acknowledge(self.cluster, findings)


# --8<-- [end:database]


# --8<-- [start:consumer]
class ParameterConsumer(Construct):
    """A function in the application tier that finds the database through Parameter Store at run time.

    Its grants name the database by its fixed identifier and secret name, not by values read from another stack,
    so they stay valid when the database stack is replaced. With ``exports`` (the approach this pattern avoids)
    it imports the cluster and secret ARNs from the database stack's CloudFormation exports instead.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        path: where the shared infrastructure publishes.
        exports: import the database's ARNs from CloudFormation exports instead of reading parameters.

    Attributes:
        function: the consumer function block.
    """

    def __init__(self, scope: Construct, construct_id: str, *, path: ParameterPath, exports: bool = False) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        vpc, application_tier = vpc_view(self, path, "application")
        if exports:
            environment = {
                "CLUSTER_ARN": cdk.Fn.import_value(path.export_name("cluster-arn")),
                "SECRET_ARN": cdk.Fn.import_value(path.export_name("secret-arn")),
            }
        else:
            environment = {"DATABASE_PARAMETERS": path.database}
        self.function = PythonFunction(
            self,
            "Consumer",
            code_dir=HANDLERS,
            handler="consumer.index.handler",
            description="Finds the shared database by its parameters and asks it who it is",
            environment=environment,
            vpc=vpc,
            vpc_subnets=application_tier,
        )
        cluster_arn = stack.format_arn(
            service="rds",
            resource="cluster",
            resource_name=path.database_cluster_identifier(),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        secret_arn = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{path.database_secret_name()}-??????",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        parameters_arn = stack.format_arn(service="ssm", resource="parameter", resource_name=path.database[1:])
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ssm:GetParametersByPath"], resources=[parameters_arn])
        )
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["rds-data:ExecuteStatement"], resources=[cluster_arn])
        )
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret_arn])
        )
        acknowledge(
            self.function.role,
            {
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
                f"secret:{path.database_secret_name()}-??????]": "Secrets Manager ends every secret ARN with six "
                "random characters; the name before them is fixed.",
            },
        )


# --8<-- [end:consumer]


class NetworkStack(cdk.Stack):
    """Deploys :class:`SharedNetwork`."""

    def __init__(self, scope: Construct, construct_id: str, *, path: ParameterPath) -> None:
        super().__init__(scope, construct_id, description="AWS Serverless Patterns: ssm-parameters (network)")
        network = SharedNetwork(self, "Network", path=path)
        cdk.CfnOutput(self, "VpcId", value=network.vpc.vpc_id)
        cdk.CfnOutput(self, "NetworkParameterPath", value=path.network)


class DatabaseStack(cdk.Stack):
    """Deploys :class:`SharedDatabase`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, path: ParameterPath, deletion_protection: bool, exports: bool
    ) -> None:
        super().__init__(scope, construct_id, description="AWS Serverless Patterns: ssm-parameters (database)")
        self.database = SharedDatabase(self, "Database", path=path, deletion_protection=deletion_protection)
        if exports:  # the variant this pattern avoids, for the comparison
            for name, value in (
                ("cluster-arn", self.database.cluster.cluster_arn),
                ("secret-arn", self.database.secret.secret_arn),
            ):
                cdk.CfnOutput(self, f"Export-{name}", value=value, export_name=path.export_name(name))
        cdk.CfnOutput(self, "ClusterArn", value=self.database.cluster.cluster_arn)
        cdk.CfnOutput(self, "SecretArn", value=self.database.secret.secret_arn)
        cdk.CfnOutput(self, "DatabaseName", value="catalog")
        cdk.CfnOutput(self, "DatabaseParameterPath", value=path.database)


class ConsumerStack(cdk.Stack):
    """Deploys :class:`ParameterConsumer`."""

    def __init__(self, scope: Construct, construct_id: str, *, path: ParameterPath, exports: bool) -> None:
        super().__init__(scope, construct_id, description="AWS Serverless Patterns: ssm-parameters (consumer)")
        consumer = ParameterConsumer(self, "Consumer", path=path, exports=exports)
        cdk.CfnOutput(self, "ConsumerFunctionName", value=consumer.function.function.function_name)


# --8<-- [start:app]
def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``; context ``environment`` (default ``demo``), ``sharing``
    (``parameters`` or ``exports``) and ``deletion_protection`` (default false) choose the variant.

    The stacks name no account or region: they are those of the credentials the deployment runs with, so the
    same synthesized templates deploy to any account (the end-to-end test deploys them to two)."""
    path = ParameterPath(str(app.node.try_get_context("environment") or "demo"))
    sharing: Sharing = "exports" if app.node.try_get_context("sharing") == "exports" else "parameters"
    protect = str(app.node.try_get_context("deletion_protection")).lower() == "true"
    network = NetworkStack(app, "SharedNetwork", path=path)
    exports = sharing == "exports"
    database = DatabaseStack(app, "SharedDatabase", path=path, deletion_protection=protect, exports=exports)
    consumer = ConsumerStack(app, "ParameterConsumer", path=path, exports=exports)
    # Parameters carry no dependency CloudFormation knows of: deploy order is stated, not inferred from imports.
    database.add_stack_dependency(network, "reads the network's parameters at deploy time")
    consumer.add_stack_dependency(database, "reads the network's parameters at deploy time, the database's at run time")
    return [network, database, consumer]


# --8<-- [end:app]
