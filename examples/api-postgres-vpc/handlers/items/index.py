"""The ``/items`` function: finds the database through Parameter Store, then serves the API over one kept
PostgreSQL connection per execution environment.

The endpoint, port, database name and secret ARN are read **at run time** (cached 30 seconds): they change when
the shared database stack is replaced. The credentials are read from the secret when a connection is opened, and
read again when PostgreSQL refuses the password (after a rotation). The schema is created on the first request of
each execution environment (idempotent, under an advisory lock), and again if a replaced database lacks it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from items.postgres import Credentials, Database, Endpoint, OutcomeUnknown, PostgresItems
from items_api.api import create_app
from psycopg import OperationalError, errors

logger = Logger()
tracer = Tracer()

PARAMETERS_MAX_AGE_S = 30
#: The secret is read when a connection opens; a refused password forces a fresh read, so a long cache is safe.
SECRET_MAX_AGE_S = 12 * 3600
_migrated: set[Endpoint] = set()  # databases whose schema this execution environment has created or found


class DatabaseNotFound(Exception):
    """The database's parameters are missing: the shared database stack is not deployed."""


# --8<-- [start:locate]
def endpoint() -> Endpoint:
    """The database's endpoint and secret from its parameters under ``DATABASE_PARAMETERS``."""
    path = os.environ["DATABASE_PARAMETERS"]
    found = parameters.get_parameters(path, max_age=PARAMETERS_MAX_AGE_S)
    try:
        return Endpoint(
            host=str(found["endpoint"]),
            port=int(found["port"]),
            database=str(found["database-name"]),
            secret_arn=str(found["secret-arn"]),
        )
    except KeyError as error:
        raise DatabaseNotFound(f"no {error.args[0]} under {path}: is the database stack deployed?") from error


def credentials(secret_arn: str, fresh: bool) -> Credentials:
    """The user name and password in the database's secret; ``fresh`` skips the cache (after a rotation)."""
    secret = json.loads(parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_S, force_fetch=fresh))
    return Credentials(user=secret["username"], password=secret["password"])


#: The execution environment's connection, opened by its first request and kept for the next ones.
database = Database(endpoint, credentials)


def repository() -> PostgresItems:
    """The repository over the kept connection; the schema is migrated on the first use of each database."""
    items = PostgresItems(database)
    where = endpoint()
    if where not in _migrated:
        items.migrate()
        _migrated.add(where)
        logger.info("schema ready", extra={"host": where.host})
    return items


# --8<-- [end:locate]

app: APIGatewayRestResolver = create_app(repository)


# --8<-- [start:failures]
def _failure(status: int, message: str) -> Response[str]:
    """An answer that tells the client what happened and whether to retry; the details go to the log only."""
    logger.exception(message)
    return Response(status_code=status, body=json.dumps({"message": message}), content_type="application/json")


@app.exception_handler(OutcomeUnknown)
def outcome_unknown(error: OutcomeUnknown) -> Response[str]:
    """A create or delete whose commit lost its connection: retrying blindly could apply it twice."""
    return _failure(
        500,
        "the connection broke while the change was committed: it may or may not be stored; "
        "read it back before retrying",
    )


@app.exception_handler(errors.QueryCanceled)
def too_slow(error: errors.QueryCanceled) -> Response[str]:
    """The statement timeout ended the statement (a lock held elsewhere, an overloaded database): nothing changed."""
    return _failure(503, "the database did not answer in time; nothing was changed, try again")


@app.exception_handler(OperationalError)
def unreachable(error: OperationalError) -> Response[str]:
    """No connection even after one reconnect (a failover, a restart, too many connections): nothing changed."""
    return _failure(503, "the database cannot be reached; nothing was changed, try again")


@app.exception_handler(DatabaseNotFound)
def not_deployed(error: DatabaseNotFound) -> Response[str]:
    """The database's parameters are missing: its stack is not deployed, or being replaced."""
    return _failure(503, "the database is not available; try again later")


# --8<-- [end:failures]


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route the REST API's proxy event; a database replaced under a warm function gets its schema again."""
    try:
        return app.resolve(event, context)
    except errors.UndefinedTable as error:
        if not _migrated:
            raise
        logger.warning("the schema is gone (a replaced database?): migrating again", extra={"error": str(error)})
        _migrated.clear()
        return app.resolve(event, context)


# --8<-- [end:handler]
