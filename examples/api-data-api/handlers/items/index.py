"""The ``/items`` function: finds the shared database through Parameter Store, then serves the API over the Data API.

The cluster ARN, secret ARN and database name are read **at run time** (cached 30 seconds per execution
environment): they change when the shared database stack is replaced, and a value read at deploy time would stay
stale until this stack was deployed again. The schema is created on the first request of each execution
environment (idempotent), and again if a replaced database lacks it.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from items.data_api import DataApiItems, Location
from items_api.api import create_app

logger = Logger()
tracer = Tracer()
data_api = boto3.client("rds-data")

PARAMETERS_MAX_AGE_S = 30
_migrated: set[str] = set()  # clusters whose schema this execution environment has created or found


class DatabaseNotFound(Exception):
    """The database's parameters are missing: the shared database stack is not deployed."""


# --8<-- [start:locate]
def locate() -> Location:
    """The database's location from its parameters under ``DATABASE_PARAMETERS``."""
    path = os.environ["DATABASE_PARAMETERS"]
    found = parameters.get_parameters(path, max_age=PARAMETERS_MAX_AGE_S)
    try:
        return Location(str(found["cluster-arn"]), str(found["secret-arn"]), str(found["database-name"]))
    except KeyError as error:
        raise DatabaseNotFound(f"no {error.args[0]} under {path}: is the database stack deployed?") from error


def repository() -> DataApiItems:
    """A repository for this request; the schema is migrated on the first use of each cluster."""
    where = locate()
    items = DataApiItems(data_api, where)
    if where.cluster_arn not in _migrated:
        items.migrate()
        _migrated.add(where.cluster_arn)
        logger.info("schema ready", extra={"cluster": where.cluster_arn})
    return items


# --8<-- [end:locate]

app: APIGatewayRestResolver = create_app(repository)


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route the REST API's proxy event; a database replaced under a warm function gets its schema again."""
    try:
        return app.resolve(event, context)
    except ClientError as error:
        if "does not exist" not in str(error) or not _migrated:
            raise
        logger.warning("the schema is gone (a replaced database?): migrating again", extra={"error": str(error)})
        _migrated.clear()
        return app.resolve(event, context)


# --8<-- [end:handler]
