"""The consumer: finds the shared database through Parameter Store at run time and asks it who it is.

The parameters are cached for 30 seconds per execution environment. When a call fails after the database was
replaced, the consumer reads them afresh once before it gives up, so it reaches the new database as soon as its
parameters exist, not 30 seconds later.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

logger = Logger()
tracer = Tracer()
data_api = boto3.client("rds-data")

PARAMETERS_MAX_AGE_S = 30
REQUIRED = ("cluster-arn", "secret-arn", "database-name")


class WhoAnswers(BaseModel):
    """The request: nothing, or ``{"fresh": true}`` to bypass the parameter cache."""

    model_config = ConfigDict(extra="forbid", strict=True)
    fresh: bool = False


class DatabaseNotFound(Exception):
    """The database's parameters are missing: its stack is not deployed (or is being replaced)."""


# --8<-- [start:locate]
def locate(fresh: bool = False) -> dict[str, str]:
    """Where the database is: its parameters (cached ``PARAMETERS_MAX_AGE_S``), or, in the exports variant,
    the ARNs CloudFormation imported into this function's environment at deploy time."""
    path = os.environ.get("DATABASE_PARAMETERS")
    if path is None:
        return {
            "cluster-arn": os.environ["CLUSTER_ARN"],
            "secret-arn": os.environ["SECRET_ARN"],
            "database-name": "catalog",
            "found-by": "exports",
        }
    found = parameters.get_parameters(path, max_age=PARAMETERS_MAX_AGE_S, force_fetch=fresh)
    values = {name: str(value) for name, value in found.items()}
    missing = [name for name in REQUIRED if name not in values]
    if missing and not fresh:  # what is cached may be an answer from while the database was gone
        return locate(fresh=True)
    if missing:
        raise DatabaseNotFound(f"no {', '.join(missing)} under {path}: is the database stack deployed?")
    return {**values, "found-by": f"parameters under {path}"}


# --8<-- [end:locate]


def ask(where: dict[str, str]) -> dict[str, Any]:
    """Run one read-only statement through the Data API; typed fields come back as a row."""
    answer = data_api.execute_statement(
        resourceArn=where["cluster-arn"],
        secretArn=where["secret-arn"],
        database=where["database-name"],
        sql="SELECT current_database(), current_user, version()",
    )
    database, user, version = (next(iter(field.values())) for field in answer["records"][0])
    return {"database": database, "user": user, "version": str(version).split(" on ")[0]}


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=WhoAnswers)
def handler(request: WhoAnswers, context: LambdaContext) -> dict[str, Any]:
    """Find the database and report who answered; a stale cache is refreshed once before the error is raised."""
    where = locate(fresh=request.fresh)
    try:
        answer = ask(where)
    except ClientError as error:
        if request.fresh or where["found-by"] == "exports":
            raise
        logger.warning("the database did not answer; reading its parameters afresh", extra={"error": str(error)})
        where = locate(fresh=True)
        answer = ask(where)
    logger.info("database answered", extra={"cluster": where["cluster-arn"], "found_by": where["found-by"]})
    return {
        **answer,
        "cluster_arn": where["cluster-arn"],
        "cluster_resource_id": where.get("cluster-resource-id"),
        "found_by": where["found-by"],
    }


# --8<-- [end:handler]
