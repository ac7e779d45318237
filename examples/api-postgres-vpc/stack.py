"""A REST API over Aurora PostgreSQL from a function inside the VPC, over the PostgreSQL protocol (psycopg 3).

``ItemsOverPostgres`` takes the REST API to add ``/items`` to (an existing one works), the ``ParameterPath`` of an
environment of the ``ssm-parameters`` shared infrastructure, and a view of its VPC (the application tier's subnets,
the address ranges of the data tier and of the AWS API endpoints); its function finds the database under that path
at run time. The app deploys that infrastructure too, reusing the ``ssm-parameters`` stacks (not copies of them)
under its own environment, ``postgres-vpc``, so ``patterns run api-postgres-vpc`` works in an empty account and
destroying this pattern never deletes a database another pattern uses. With ``-c shared=existing -c
environment=demo`` it deploys only the API, against the ``demo`` environment that ``ssm-parameters`` deployed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import DependenciesLayer, PythonFunction, api_gateway_logging_role, secure_rest_api
from awspatterns.catalog import get_pattern
from awspatterns.shared_handlers import ITEMS_API
from awspatterns.synth import load_stack_module

HANDLERS = Path(__file__).parent / "handlers"
#: The shared infrastructure's constructs and stacks, imported from the ssm-parameters example itself.
shared: Any = load_stack_module(get_pattern("ssm-parameters"))
DEFAULT_ENVIRONMENT = "postgres-vpc"
POSTGRES_PORT = 5432


# --8<-- [start:construct]
class ItemsOverPostgres(Construct):
    """``/items`` (create, list with pagination, read, replace, delete) on ``api``, stored in the shared Aurora
    database over the PostgreSQL protocol, from a function in the VPC.

    The function runs in ``subnets`` with a security group of its own that lets out only PostgreSQL to the data
    tier and HTTPS to the AWS API endpoints (Parameter Store, Secrets Manager): the isolated subnets have no other
    route anyway. The database's security group admits the application tier's ranges on 5432 (``ssm-parameters``),
    so a replaced database needs no rule from this stack. Its grants name the parameters and the secret by the
    names fixed per environment, so they stay valid when the database stack is replaced; nothing on ``rds-data``.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        api: the REST API to add ``/items`` to.
        path: where the shared infrastructure of one environment publishes its identifiers.
        vpc: the VPC to run in.
        subnets: the function's subnets (the application tier).
        database_ranges: the data tier's address ranges (PostgreSQL goes there only).
        endpoint_ranges: where the AWS API endpoints answer (HTTPS goes there only).

    Attributes:
        function: the items function block.
        security_group: the function's security group.
        dependencies: the function's layer of psycopg (``handlers/requirements.txt``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigateway.RestApi,
        path: Any,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        database_ranges: Sequence[str],
        endpoint_ranges: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="The items function: PostgreSQL to the data tier, HTTPS to the AWS API endpoints",
            allow_all_outbound=False,
        )
        for cidr in database_ranges:
            self.security_group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(POSTGRES_PORT), "the database")
        for cidr in endpoint_ranges:
            self.security_group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "AWS API endpoints")
        self.function = PythonFunction(
            self,
            "Items",
            code_dir=HANDLERS,
            shared_code=[ITEMS_API],  # the HTTP layer, shared with api-data-api
            handler="items.index.handler",
            description="Serves /items from Aurora PostgreSQL over a kept psycopg connection",
            environment={"DATABASE_PARAMETERS": path.database},
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
        )
        # psycopg and its libpq are not in Lambda's Python runtime: they ship in a layer built from the hash-pinned
        # handlers/requirements.txt.
        self.dependencies = DependenciesLayer(self, "Psycopg", requirements=HANDLERS / "requirements.txt")
        self.function.function.add_layers(self.dependencies)
        secret_arn = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{path.database_secret_name()}-??????",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        parameters_arn = stack.format_arn(service="ssm", resource="parameter", resource_name=path.database[1:])
        for actions, arn in (
            (["ssm:GetParametersByPath"], parameters_arn),
            (["secretsmanager:GetSecretValue"], secret_arn),  # the credentials, read when a connection opens
        ):
            self.function.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[arn]))
        acknowledge(
            self.function.role,
            {
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
                f"secret:{path.database_secret_name()}-??????]": "Secrets Manager ends every secret ARN with six "
                "random characters; the name before them is fixed.",
            },
        )
        integration = apigateway.LambdaIntegration(self.function.function)
        validator = api.add_request_validator(
            "ItemsValidator", validate_request_parameters=True, validate_request_body=True
        )
        items = api.root.add_resource("items")
        one = items.add_resource("{item_id}")
        for resource, method in ((items, "GET"), (items, "POST"), (one, "GET"), (one, "PUT"), (one, "DELETE")):
            resource.add_method(method, integration, request_validator=validator)


# --8<-- [end:construct]


class ApiPostgresVpcStack(cdk.Stack):
    """The REST API and :class:`ItemsOverPostgres` in the shared VPC's application tier."""

    def __init__(self, scope: Construct, construct_id: str, *, path: Any) -> None:
        super().__init__(scope, construct_id, description="AWS Serverless Patterns: api-postgres-vpc")
        # --8<-- [start:stack]
        vpc, application_tier = shared.vpc_view(self, path, "application")  # from the network's parameters
        api = secure_rest_api(self, "ItemsApi", description="Items in Aurora over PostgreSQL", stage_name="prod")
        items = ItemsOverPostgres(
            self,
            "Items",
            api=api,
            path=path,
            vpc=vpc,
            subnets=application_tier,
            database_ranges=[
                cdk.Fn.select(i, cdk.Fn.split(",", path.read(self, "network", "data-subnet-cidrs"), 2))
                for i in range(2)
            ],
            endpoint_ranges=[path.read(self, "network", "vpc-cidr")],
        )
        # --8<-- [end:stack]
        api_gateway_logging_role(self, api)
        acknowledge(
            api,
            {
                "AwsSolutions-APIG3": "WAF is an account-level choice with its own cost (see the page).",
                "AwsSolutions-APIG4": "The pattern shows the database access; put an authorizer in front (see "
                "api-authorizer) before real data goes in.",
                "AwsSolutions-COG4": "No Cognito user pool: see AwsSolutions-APIG4.",
            },
        )
        for name, value in {
            "ApiUrl": api.url,
            "ItemsUrl": api.url_for_path("/items"),
            "ItemsFunctionName": items.function.function.function_name,
            "ItemsParameterPath": path.database,
            "ItemsSecurityGroupId": items.security_group.security_group_id,
        }.items():
            cdk.CfnOutput(self, name, value=value)


# --8<-- [start:app]
def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``. Context ``environment`` (default ``postgres-vpc``) names the shared
    infrastructure to use; ``shared=existing`` uses a deployed one instead of deploying it with this app."""
    path = shared.ParameterPath(str(app.node.try_get_context("environment") or DEFAULT_ENVIRONMENT))
    api = ApiPostgresVpcStack(app, "ApiPostgresVpc", path=path)
    if app.node.try_get_context("shared") == "existing":
        return [api]
    # The ssm-parameters stacks themselves, under names of this pattern's own: destroying one pattern leaves
    # the other's database alone, since each environment has its own cluster, secret and parameters.
    network = shared.NetworkStack(app, "PostgresVpcNetwork", path=path)
    database = shared.DatabaseStack(app, "PostgresVpcDatabase", path=path, deletion_protection=False, exports=False)
    database.add_stack_dependency(network, "reads the network's parameters at deploy time")
    api.add_stack_dependency(network, "reads the network's parameters at deploy time")
    api.add_stack_dependency(database, "reads the database's parameters at run time")
    return [network, database, api]


# --8<-- [end:app]
