"""The Aurora Data API (``rds-data``) running real SQL on the cluster's PostgreSQL server.

moto 5.2.5 routes only ``ExecuteStatement`` and answers it with empty records. Here every operation works:
``ExecuteStatement`` (named ``:parameters`` with type hints, typed fields, column metadata, JSON-formatted
records), ``BatchExecuteStatement``, and ``BeginTransaction``/``CommitTransaction``/``RollbackTransaction``.
The credentials come from the secret, as in AWS: a wrong secret is an authentication error from PostgreSQL.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import json
import re
import secrets
import threading
import uuid
from typing import Any

import psycopg
from moto.core.exceptions import JsonRESTError
from moto.rds.models import rds_backends
from moto.rdsdata import urls as rdsdata_urls
from moto.rdsdata.responses import RDSDataServiceResponse
from moto.secretsmanager.models import secretsmanager_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.patching import add, replace
from awspatterns.sandbox.rds.postgres import PostgresServers, cluster_key

#: The moto internals this module replaces or extends (checked by the canary tests).
__all__ = ["PATCHED", "DataApi", "install"]

PATCHED = ((RDSDataServiceResponse, "execute_statement"), (rdsdata_urls, "url_paths"))

#: The Data API refuses results larger than this.
MAX_RESPONSE_BYTES = 1024 * 1024

#: ``:name`` placeholders, not ``::casts``, and not inside quotes (the alternation consumes quoted text first).
PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|:([A-Za-z_][A-Za-z0-9_]*)")

TYPE_HINT_CASTS = {
    "UUID": "uuid",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "DECIMAL": "numeric",
    "JSON": "jsonb",
}

#: PostgreSQL type names to the JDBC type codes the Data API reports in column metadata.
JDBC_TYPES = {
    "bool": -7,
    "int2": 5,
    "int4": 4,
    "int8": -5,
    "float4": 7,
    "float8": 8,
    "numeric": 2,
    "varchar": 12,
    "text": 12,
    "bpchar": 1,
    "date": 91,
    "time": 92,
    "timestamp": 93,
    "timestamptz": 93,
    "bytea": -2,
    "uuid": 1111,
    "json": 1111,
    "jsonb": 1111,
}


def bad_request(message: str) -> JsonRESTError:
    """The Data API's error for bad SQL, parameters, secrets or transactions."""
    return JsonRESTError("BadRequestException", message)


class DataApi:
    """Connections per cluster, database and user; open transactions by id."""

    def __init__(self, postgres: PostgresServers) -> None:
        self._postgres = postgres
        self._idle: dict[tuple[str, str, str, str], list[psycopg.Connection[Any]]] = {}
        self._transactions: dict[str, tuple[tuple[str, str, str, str], psycopg.Connection[Any]]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ connections
    def _connect(self, account: str, region: str, resource_arn: str, secret_arn: str, database: str | None) -> Any:
        try:
            cluster_id = Arn.parse(resource_arn).name
        except ValueError:
            raise bad_request(f"{resource_arn!r} is not a cluster ARN") from None
        clusters = rds_backends[account][region].clusters
        cluster = clusters.get(cluster_id)
        if cluster is None:
            raise bad_request(f"Cluster {resource_arn} does not exist")
        if not cluster.enable_http_endpoint:
            raise bad_request(f"HttpEndpoint is not enabled for cluster {cluster_id}")
        server = self._postgres.get(cluster_key(account, region, cluster_id))
        if server is None:
            raise bad_request(f"Cluster {cluster_id} has no database server in the sandbox")
        try:
            secret = json.loads(
                secretsmanager_backends[account][region].get_secret_value(secret_arn, "", "AWSCURRENT")["SecretString"]
            )
            username, password = secret["username"], secret["password"]
        except Exception as error:
            raise bad_request(f"Error fetching secret {secret_arn}: {error}") from error
        # The password is part of the key: a pooled connection must never serve a secret PostgreSQL would refuse.
        key = (f"{account}/{cluster_id}", database or server.database, username, _digest(password))
        with self._lock:
            pool = self._idle.setdefault(key, [])
            while pool:
                connection = pool.pop()
                if not connection.closed:
                    return key, connection
        try:
            connection = psycopg.connect(
                host=server.host, port=server.port, user=username, password=password, dbname=key[1], autocommit=True
            )
        except psycopg.OperationalError as error:
            raise bad_request(str(error).strip()) from error
        return key, connection

    def _release(self, key: tuple[str, str, str, str], connection: Any) -> None:
        with self._lock:
            if not connection.closed and len(self._idle.setdefault(key, [])) < 8:
                self._idle[key].append(connection)
                return
        connection.close()

    # ------------------------------------------------------------------ operations
    def execute(self, account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """``ExecuteStatement``."""
        transaction = request.get("transactionId")
        if transaction:
            _, connection = self._transaction(transaction)
            return self._run(connection, request)
        key, connection = self._connect(
            account, region, request["resourceArn"], request["secretArn"], request.get("database")
        )
        try:
            return self._run(connection, request)
        finally:
            self._release(key, connection)

    def batch(self, account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """``BatchExecuteStatement``: the statement once per parameter set, in one transaction."""
        sets = request.get("parameterSets") or [[]]
        transaction = request.get("transactionId")
        if transaction:
            _, connection = self._transaction(transaction)
            return {"updateResults": [self._update(connection, request["sql"], p) for p in sets]}
        key, connection = self._connect(
            account, region, request["resourceArn"], request["secretArn"], request.get("database")
        )
        try:
            with connection.transaction():
                results = [self._update(connection, request["sql"], p) for p in sets]
            return {"updateResults": results}
        except psycopg.Error as error:
            raise bad_request(_message(error)) from error
        finally:
            self._release(key, connection)

    def begin(self, account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """``BeginTransaction``: a connection held for the transaction."""
        key, connection = self._connect(
            account, region, request["resourceArn"], request["secretArn"], request.get("database")
        )
        connection.execute("BEGIN")
        transaction_id = base64.b64encode(secrets.token_bytes(48)).decode()
        with self._lock:
            self._transactions[transaction_id] = (key, connection)
        return {"transactionId": transaction_id}

    def end(self, request: dict[str, Any], commit: bool) -> dict[str, Any]:
        """``CommitTransaction`` or ``RollbackTransaction``."""
        key, connection = self._transaction(request.get("transactionId", ""))
        with self._lock:
            self._transactions.pop(request["transactionId"], None)
        try:
            connection.execute("COMMIT" if commit else "ROLLBACK")
        except psycopg.Error as error:
            connection.close()
            raise bad_request(_message(error)) from error
        self._release(key, connection)
        return {"transactionStatus": "Transaction Committed" if commit else "Rollback Complete"}

    def _transaction(self, transaction_id: str) -> tuple[tuple[str, str, str, str], Any]:
        with self._lock:
            found = self._transactions.get(transaction_id)
        if found is None:
            raise bad_request(f"Transaction {transaction_id} is not found")
        return found

    # ------------------------------------------------------------------ SQL
    def _run(self, connection: Any, request: dict[str, Any]) -> dict[str, Any]:
        sql, values = _bind(request["sql"], request.get("parameters") or [])
        try:
            cursor = connection.execute(sql, values)
        except psycopg.Error as error:
            raise bad_request(_message(error)) from error
        response: dict[str, Any] = {"numberOfRecordsUpdated": 0, "generatedFields": []}
        if cursor.description is None:
            response["numberOfRecordsUpdated"] = max(cursor.rowcount, 0)
            return response
        rows = cursor.fetchall()
        columns = cursor.description
        if cursor.statusmessage and not cursor.statusmessage.startswith("SELECT"):
            response["numberOfRecordsUpdated"] = max(cursor.rowcount, 0)
        if request.get("formatRecordsAs") == "JSON":
            response["formattedRecords"] = json.dumps(
                [{c.name: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
            )
        else:
            response["records"] = [[_field(v) for v in row] for row in rows]
        if request.get("includeResultMetadata"):
            response["columnMetadata"] = [_metadata(connection, c) for c in columns]
        if len(json.dumps(response)) > MAX_RESPONSE_BYTES:
            raise bad_request("Database returned more than the allowed response size limit")
        return response

    def _update(self, connection: Any, sql: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
        bound, values = _bind(sql, parameters)
        try:
            cursor = connection.execute(bound, values)
        except psycopg.Error as error:
            raise bad_request(_message(error)) from error
        fields = [_field(v) for v in cursor.fetchone() or ()] if cursor.description else []
        return {"generatedFields": fields}

    def busy(self) -> bool:
        """Statements run inside the API call: never busy in the background."""
        return False

    def shutdown(self) -> None:
        """Close every connection (the sandbox is stopping)."""
        with self._lock:
            connections = [c for pool in self._idle.values() for c in pool]
            connections += [c for _, c in self._transactions.values()]
            self._idle.clear()
            self._transactions.clear()
        for connection in connections:
            connection.close()


def _bind(sql: str, parameters: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Turn ``:name`` placeholders into psycopg's ``%(name)s`` (with the type hint's cast) and decode values."""
    values: dict[str, Any] = {}
    hints: dict[str, str] = {}
    for parameter in parameters:
        name = parameter.get("name")
        if not name:
            raise bad_request("Parameter name is required")
        values[name] = _value(parameter.get("value") or {})
        if parameter.get("typeHint"):
            hint = TYPE_HINT_CASTS.get(parameter["typeHint"])
            if hint is None:
                raise bad_request(f"Unknown type hint {parameter['typeHint']}")
            hints[name] = hint

    pieces, last = [], 0
    for match in PLACEHOLDER.finditer(sql):
        pieces.append(sql[last : match.start()].replace("%", "%%"))
        name = match[1]
        if name is None:  # a quoted literal or identifier, or a :: cast
            pieces.append(match[0].replace("%", "%%"))
        elif name not in values:
            raise bad_request(f"No value specified for parameter: {name}")
        else:
            pieces.append(f"%({name})s" + (f"::{hints[name]}" if name in hints else ""))
        last = match.end()
    pieces.append(sql[last:].replace("%", "%%"))
    return "".join(pieces), values


def _value(field: dict[str, Any]) -> Any:
    """A Data API ``Field`` as a Python value."""
    if field.get("isNull"):
        return None
    for key in ("stringValue", "longValue", "doubleValue", "booleanValue"):
        if key in field:
            return field[key]
    if "blobValue" in field:
        blob = field["blobValue"]
        return base64.b64decode(blob) if isinstance(blob, str) else bytes(blob)
    if "arrayValue" in field:
        raise bad_request("Array parameters are not supported")
    raise bad_request(f"Invalid parameter value {field!r}")


def _field(value: Any) -> dict[str, Any]:
    """A result value as a Data API ``Field``."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (bytes, memoryview)):
        return {"blobValue": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, list):
        return {"arrayValue": _array(value)}
    return {"stringValue": _plain(value)}


def _array(values: list[Any]) -> dict[str, Any]:
    if all(isinstance(v, bool) for v in values):
        return {"booleanValues": values}
    if all(isinstance(v, int) for v in values):
        return {"longValues": values}
    if all(isinstance(v, float) for v in values):
        return {"doubleValues": values}
    return {"stringValues": [_plain(v) for v in values]}


def _plain(value: Any) -> Any:
    """A value as text where the Data API gives text: decimals, dates, UUIDs, JSON."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
    if isinstance(value, (datetime.date, datetime.time, decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (dict, list)) and not isinstance(value, bool):
        return json.dumps(value)
    return value


def _metadata(connection: Any, column: Any) -> dict[str, Any]:
    type_name = _type_name(connection, column.type_code)
    return {
        "name": column.name,
        "label": column.name,
        "typeName": type_name,
        "type": JDBC_TYPES.get(type_name, 1111),
        "nullable": 2,  # unknown, as the Data API reports for expressions
        "precision": column.precision or column.internal_size or 0,
        "scale": column.scale or 0,
        "isSigned": type_name in {"int2", "int4", "int8", "float4", "float8", "numeric"},
        "isCaseSensitive": type_name in {"text", "varchar", "bpchar"},
        "isCurrency": False,
        "isAutoIncrement": False,
        "schemaName": "",
        "tableName": "",
        "arrayBaseColumnType": 0,
    }


def _type_name(connection: Any, oid: int) -> str:
    info = connection.adapters.types.get(oid)
    return str(info.name) if info is not None else str(oid)


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _message(error: psycopg.Error) -> str:
    return f"ERROR: {str(error).strip()}"


def install(api: DataApi) -> None:
    """Route every Data API operation to ``api``."""

    def call(operation: str) -> Any:
        def handler(response: Any) -> str:
            request = json.loads(response.body or "{}")
            account, region = response.current_account, response.region
            if operation == "execute":
                result = api.execute(account, region, request)
            elif operation == "batch":
                result = api.batch(account, region, request)
            elif operation == "begin":
                result = api.begin(account, region, request)
            else:
                result = api.end(request, commit=operation == "commit")
            return json.dumps(result)

        return handler

    replace(RDSDataServiceResponse, "execute_statement", call("execute"))
    add(RDSDataServiceResponse, "batch_execute_statement", call("batch"))
    add(RDSDataServiceResponse, "begin_transaction", call("begin"))
    add(RDSDataServiceResponse, "commit_transaction", call("commit"))
    add(RDSDataServiceResponse, "rollback_transaction", call("rollback"))
    handler = next(iter(rdsdata_urls.url_paths.values()))
    for operation in ("BatchExecute", "BeginTransaction", "CommitTransaction", "RollbackTransaction"):
        rdsdata_urls.url_paths[f"{{0}}/{operation}$"] = handler
