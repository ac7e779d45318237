"""A REST API over Aurora PostgreSQL through the Aurora Data API, from a function outside any VPC.

``ItemsOverDataApi`` takes the REST API to add ``/items`` to (an existing one works) and the ``ParameterPath`` of
an environment of the ``ssm-parameters`` shared infrastructure; its function finds the database under that path at
run time. The app deploys that infrastructure too, reusing the ``ssm-parameters`` stacks (not copies of them)
under its own environment, ``data-api``, so ``patterns run api-data-api`` works in an empty account and destroying
this pattern never deletes a database another pattern uses. With ``-c shared=existing -c environment=demo`` it
deploys only the API, against the ``demo`` environment that ``ssm-parameters`` deployed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks import PythonFunction, api_gateway_logging_role, secure_rest_api
from awspatterns.catalog import get_pattern
from awspatterns.shared_handlers import ITEMS_API
from awspatterns.synth import load_stack_module

HANDLERS = Path(__file__).parent / "handlers"
#: The shared infrastructure's constructs and stacks, imported from the ssm-parameters example itself.
shared: Any = load_stack_module(get_pattern("ssm-parameters"))
DEFAULT_ENVIRONMENT = "data-api"


# --8<-- [start:construct]
class ItemsOverDataApi(Construct):
    """``/items`` (create, list with pagination, read, replace, delete) on ``api``, stored in the shared Aurora
    database through the Data API.

    The function runs outside any VPC: the Data API is an HTTPS endpoint, so it needs no subnet, no security group
    and no connection. Its grants name the cluster and secret by the names fixed per environment, so they stay
    valid when the database stack is replaced.

    Args:
        scope: the parent construct.
        construct_id: the construct's id.
        api: the REST API to add ``/items`` to.
        path: where the shared infrastructure of one environment publishes its identifiers.

    Attributes:
        function: the items function block.
    """

    def __init__(self, scope: Construct, construct_id: str, *, api: apigateway.RestApi, path: Any) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.function = PythonFunction(
            self,
            "Items",
            code_dir=HANDLERS,
            shared_code=[ITEMS_API],  # the HTTP layer, shared with api-postgres-vpc
            handler="items.index.handler",
            description="Serves /items from Aurora PostgreSQL through the Data API",
            environment={"DATABASE_PARAMETERS": path.database},
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
        for actions, arn in (
            (["ssm:GetParametersByPath"], parameters_arn),
            (
                [
                    "rds-data:ExecuteStatement",
                    "rds-data:BeginTransaction",
                    "rds-data:CommitTransaction",
                    "rds-data:RollbackTransaction",
                ],
                cluster_arn,
            ),
            (["secretsmanager:GetSecretValue"], secret_arn),  # the Data API uses the caller's access to the secret
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


class ApiDataApiStack(cdk.Stack):
    """The REST API and :class:`ItemsOverDataApi`."""

    def __init__(self, scope: Construct, construct_id: str, *, path: Any) -> None:
        super().__init__(scope, construct_id, description="AWS Serverless Patterns: api-data-api")
        # --8<-- [start:stack]
        api = secure_rest_api(self, "ItemsApi", description="Items in Aurora through the Data API", stage_name="prod")
        items = ItemsOverDataApi(self, "Items", api=api, path=path)
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
        }.items():
            cdk.CfnOutput(self, name, value=value)


# --8<-- [start:app]
def build(app: cdk.App) -> list[cdk.Stack]:
    """Add this example's stacks to ``app``. Context ``environment`` (default ``data-api``) names the shared
    infrastructure to use; ``shared=existing`` uses a deployed one instead of deploying it with this app."""
    path = shared.ParameterPath(str(app.node.try_get_context("environment") or DEFAULT_ENVIRONMENT))
    api = ApiDataApiStack(app, "ApiDataApi", path=path)
    if app.node.try_get_context("shared") == "existing":
        return [api]
    # The ssm-parameters stacks themselves, under names of this pattern's own: destroying one pattern leaves
    # the other's database alone, since each environment has its own cluster, secret and parameters.
    network = shared.NetworkStack(app, "DataApiNetwork", path=path)
    database = shared.DatabaseStack(app, "DataApiDatabase", path=path, deletion_protection=False, exports=False)
    database.add_stack_dependency(network, "reads the network's parameters at deploy time")
    api.add_stack_dependency(database, "reads the database's parameters at run time")
    return [network, database, api]


# --8<-- [end:app]
