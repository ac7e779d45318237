"""``ItemsRepository`` over psycopg 3, from inside the VPC: one connection per execution environment, kept.

:class:`Database` holds the connection: opened on first use, reused by every later request of the execution
environment, and reopened once when it turns out broken (a restarted or failed-over database, an idle connection
the server or a NAT dropped, ``pg_terminate_backend``). It re-reads the secret when the password is refused (the
secret is rotated every 30 days). :class:`PostgresItems` runs each method as one transaction on it, with values
as server-side parameters (``%s``): the SQL text never contains a value.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from aws_lambda_powertools import Logger
from items_api.repository import Item, NewItem, Page
from items_api.schema import MIGRATION_LOCK, SCHEMA
from psycopg.rows import dict_row

logger = Logger(child=True)
T = TypeVar("T")

#: Seconds to wait for a connection: well under the function's timeout, so a dead endpoint is an error, not a hang.
CONNECT_TIMEOUT_S = 5
#: The server cancels any statement that runs longer (set per connection, so every statement has it).
STATEMENT_TIMEOUT_MS = 5_000
#: A transaction left open this long (a frozen or crashed function) is ended by the server, releasing its locks.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000
APPLICATION_NAME = "api-postgres-vpc items"
#: PostgreSQL's SQLSTATE for a refused password.
INVALID_PASSWORD = "28P01"  # noqa: S105 (an error code, not a password)


@dataclass(frozen=True)
class Endpoint:
    """Where the database is (from the database's parameters) and which secret holds its credentials."""

    host: str
    port: int
    database: str
    secret_arn: str


@dataclass(frozen=True)
class Credentials:
    """A user name and password from the database's secret."""

    user: str
    password: str


class OutcomeUnknown(Exception):
    """The connection broke while a write was being committed: it may or may not have been applied."""


# --8<-- [start:connect]
def sslmode(host: str) -> str:
    """``require`` (TLS) for every database but the sandbox's, which listens on the loopback address without TLS."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return "disable" if loopback else "require"


def connect(endpoint: Endpoint, credentials: Credentials) -> psycopg.Connection[Any]:
    """A new connection with the timeouts set: connect on the client, statement and idle-in-transaction on the
    server (``options``), so a slow statement is cancelled by PostgreSQL itself."""
    return psycopg.connect(
        host=endpoint.host,
        port=endpoint.port,
        dbname=endpoint.database,
        user=credentials.user,
        password=credentials.password,
        sslmode=sslmode(endpoint.host),
        connect_timeout=CONNECT_TIMEOUT_S,
        application_name=APPLICATION_NAME,
        options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS} "
        f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}",
    )


# --8<-- [end:connect]


def _refused_password(error: psycopg.OperationalError) -> bool:
    # A failed connection attempt carries no SQLSTATE in psycopg; libpq's message says why.
    return error.sqlstate == INVALID_PASSWORD or "password authentication failed" in str(error)


# --8<-- [start:database]
class Database:
    """The execution environment's connection: opened lazily, kept between requests, reopened once when broken.

    Args:
        endpoint: where the database is now (read from its parameters, cached); a new endpoint means a new
            connection.
        credentials: the secret's credentials; ``fresh=True`` reads the secret again instead of a cached copy.
        connector: opens a connection (tests substitute their own).
    """

    def __init__(
        self,
        endpoint: Callable[[], Endpoint],
        credentials: Callable[[str, bool], Credentials],
        connector: Callable[[Endpoint, Credentials], psycopg.Connection[Any]] = connect,
    ) -> None:
        self._endpoint, self._credentials, self._connector = endpoint, credentials, connector
        self._connection: psycopg.Connection[Any] | None = None
        self._connected_to: Endpoint | None = None
        #: Connections opened by this execution environment (a cold start opens the first).
        self.opened = 0

    def _open(self, endpoint: Endpoint) -> psycopg.Connection[Any]:
        try:
            connection = self._connector(endpoint, self._credentials(endpoint.secret_arn, False))
        except psycopg.OperationalError as error:
            if not _refused_password(error):
                raise
            # The secret was rotated since it was read: read it again, once.
            logger.warning("password refused: reading the secret again", extra={"secret": endpoint.secret_arn})
            connection = self._connector(endpoint, self._credentials(endpoint.secret_arn, True))
        self.opened += 1
        logger.info("connected", extra={"host": endpoint.host, "connections_opened": self.opened})
        return connection

    def connection(self) -> psycopg.Connection[Any]:
        """The kept connection, opened first if there is none, it is closed, or the database moved."""
        endpoint = self._endpoint()
        if self._connection is None or self._connection.closed or self._connected_to != endpoint:
            self.discard()
            self._connection, self._connected_to = self._open(endpoint), endpoint
        return self._connection

    def discard(self) -> None:
        """Close and forget the connection (the next unit of work opens a new one)."""
        if self._connection is not None:
            self._connection.close()
        self._connection = self._connected_to = None

    def run(self, work: Callable[[psycopg.Connection[Any]], T], *, idempotent: bool) -> T:
        """Run ``work`` as one transaction and commit it.

        If the connection breaks *before* the commit, PostgreSQL has rolled the transaction back: the work is run
        once more on a new connection, whatever it does. If it breaks *during* the commit, the outcome is unknown:
        an ``idempotent`` unit (a read, a replace with given values, the migration) is run again; any other (an
        insert, a delete) raises :class:`OutcomeUnknown` rather than risk doing it twice.
        """
        for attempt in (1, 2):
            connection = self.connection()
            try:
                result = work(connection)
            except psycopg.OperationalError as error:
                if not connection.broken or attempt == 2:
                    self._rollback(connection)
                    raise
                logger.warning("connection lost before commit: retrying on a new one", extra={"error": str(error)})
                self.discard()
                continue
            except BaseException:
                self._rollback(connection)
                raise
            try:
                connection.commit()
            except psycopg.OperationalError as error:
                if not connection.broken:
                    raise
                self.discard()
                if idempotent and attempt == 1:
                    logger.warning("connection lost during commit: retrying (idempotent)", extra={"error": str(error)})
                    continue
                raise OutcomeUnknown(
                    "the connection broke during the commit: the change may or may not be stored"
                ) from error
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _rollback(self, connection: psycopg.Connection[Any]) -> None:
        if connection.broken or connection.closed:
            self.discard()
        else:
            connection.rollback()


# --8<-- [end:database]


# --8<-- [start:repository]
class PostgresItems:
    """Items in PostgreSQL over the kept connection; each method one transaction, every value a parameter."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def _rows(self, sql: str, parameters: tuple[Any, ...] = (), *, idempotent: bool) -> list[dict[str, Any]]:
        def work(connection: psycopg.Connection[Any]) -> list[dict[str, Any]]:
            with connection.cursor(row_factory=dict_row) as cursor:
                cursor.execute(sql, parameters)
                return cursor.fetchall() if cursor.description else []

        return self._database.run(work, idempotent=idempotent)

    def migrate(self) -> None:
        def work(connection: psycopg.Connection[Any]) -> None:
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            connection.execute(SCHEMA)

        self._database.run(work, idempotent=True)

    def create(self, item: NewItem) -> Item:
        rows = self._rows(
            "INSERT INTO items (name, quantity, price) VALUES (%s, %s, %s) "
            "RETURNING id, name, quantity, price, created_at",
            (item.name, item.quantity, item.price),
            idempotent=False,
        )
        return Item.model_validate(rows[0])

    def get(self, item_id: uuid.UUID) -> Item | None:
        rows = self._rows(
            "SELECT id, name, quantity, price, created_at FROM items WHERE id = %s", (item_id,), idempotent=True
        )
        return Item.model_validate(rows[0]) if rows else None

    def replace(self, item_id: uuid.UUID, item: NewItem) -> Item | None:
        rows = self._rows(
            "UPDATE items SET name = %s, quantity = %s, price = %s WHERE id = %s "
            "RETURNING id, name, quantity, price, created_at",
            (item.name, item.quantity, item.price, item_id),
            idempotent=True,  # the same values again: the same row
        )
        return Item.model_validate(rows[0]) if rows else None

    def delete(self, item_id: uuid.UUID) -> bool:
        return bool(self._rows("DELETE FROM items WHERE id = %s RETURNING id", (item_id,), idempotent=False))

    def page(self, after: uuid.UUID | None, limit: int) -> Page:
        # One row more than asked tells whether there is a next page, without a count.
        if after is None:
            rows = self._rows(
                "SELECT id, name, quantity, price, created_at FROM items ORDER BY id LIMIT %s",
                (limit + 1,),
                idempotent=True,
            )
        else:
            rows = self._rows(
                "SELECT id, name, quantity, price, created_at FROM items WHERE id > %s ORDER BY id LIMIT %s",
                (after, limit + 1),
                idempotent=True,
            )
        items = [Item.model_validate(row) for row in rows[:limit]]
        return Page(items=items, after=items[-1].id if len(rows) > limit else None)


# --8<-- [end:repository]
