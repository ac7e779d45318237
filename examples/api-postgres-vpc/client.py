"""Drive the api-postgres-vpc pattern: bad requests are refused and change no row; items are created, read,
replaced, paged through and deleted; then the function's connection is ended on the server, and the secret is
rotated, and each time the next request still succeeds, on a new connection.

Run it with ``patterns run api-postgres-vpc`` (deploys first if needed), or directly against deployed stacks:
``python client.py`` (uses the stacks' outputs and the usual AWS environment). The API needs no AWS credentials:
any HTTP client can call ``ItemsUrl``. Checking the rows and ending connections does: the database sits in
isolated subnets, so the client goes through the cluster's Data API (the way in from outside the VPC), as the
same database user as the function.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import boto3

STACKS = ("PostgresVpcNetwork", "PostgresVpcDatabase", "ApiPostgresVpc")
INJECTION = "Robert'); DROP TABLE items; --"
#: The function's connections name themselves so (``application_name``), which is how they are found and ended.
APPLICATION_NAME = "api-postgres-vpc items"
#: How long to wait for a rotation (minutes on AWS, seconds in the sandbox).
PATIENCE_S = 15 * 60


def call(method: str, url: str, body: str | bytes | None = None) -> tuple[int, Any]:
    """One HTTP request; the status and the JSON answer (``None`` for an empty one)."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the stack's own URL)
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def bad_requests(url: str) -> dict[str, tuple[str, str, str | None]]:
    """Requests the API must refuse: name -> (method, url, body)."""
    unknown = f"{url}/{uuid.uuid4()}"
    item = json.dumps({"name": "lamp", "quantity": 1, "price": "9.90"})
    sql_token = _token({"v": 1, "after": "' OR 1=1 --"})
    sql_id = urllib.parse.quote("' OR 1=1 --")
    return {
        "malformed JSON": ("POST", url, '{"name": "lamp", "quantity": '),
        "no body": ("POST", url, None),
        "wrong type": ("POST", url, json.dumps({"name": "lamp", "quantity": "two"})),
        "SQL in a number": ("POST", url, json.dumps({"name": "x", "quantity": "1); DROP TABLE items; --"})),
        "negative quantity": ("POST", url, json.dumps({"name": "lamp", "quantity": -1})),
        "three decimals": ("POST", url, json.dumps({"name": "lamp", "quantity": 1, "price": "1.999"})),
        "unknown field": ("POST", url, json.dumps({"name": "lamp", "quantity": 1, "owner": "admin"})),
        "oversized body": ("POST", url, json.dumps({"name": "lamp", "quantity": 1, "note": "x" * 5000})),
        "SQL in the id": ("GET", f"{url}/{sql_id}", None),
        "unknown id (read)": ("GET", unknown, None),
        "unknown id (replace)": ("PUT", unknown, item),
        "unknown id (delete)": ("DELETE", unknown, None),
        "forged token": ("GET", f"{url}?next_token=not-a-token", None),
        "SQL in a token": ("GET", f"{url}?next_token={sql_token}", None),
        "SQL in the limit": ("GET", f"{url}?limit={urllib.parse.quote('1; DROP TABLE items')}", None),
        "limit too large": ("GET", f"{url}?limit=1000", None),
    }


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session) -> dict[str, Any]:
    """Send the bad requests (each refused, the table's fingerprint unchanged), then create five items (one named
    with an SQL injection string, stored as text), read one, replace one, page through all of them two at a time,
    delete one and try to read it again. Then the two drills: end the function's connection on the server, and
    rotate the database's secret (and end the connection again, so the next one must sign in with the new
    password); after each, the next request succeeds on a new connection."""
    url = outputs["ItemsUrl"].rstrip("/")
    rows = Rows(session, outputs["ItemsParameterPath"])
    status, first = call("GET", url)  # the first call opens the connection and creates the schema
    if status != 200:
        raise RuntimeError(f"GET /items answered {status} {first}: see the function's log")
    report: dict[str, Any] = {"url": url}
    before = rows.fingerprint()
    report["refused"] = {name: _answer(*call(*request)) for name, request in bad_requests(url).items()}
    report["rows_unchanged_by_refusals"] = rows.fingerprint() == before

    created = []
    for name, quantity in (("lamp", 3), ("desk", 1), ("chair", 4), ("shelf", 2), (INJECTION, 1)):
        status, item = call("POST", url, json.dumps({"name": name, "quantity": quantity, "price": "19.90"}))
        assert status == 201, (status, item)
        created.append(item)
    report["created"] = created
    first = created[0]["id"]
    report["read"] = call("GET", f"{url}/{first}")
    report["replaced"] = call("PUT", f"{url}/{first}", json.dumps({"name": "lamp", "quantity": 7, "price": "24.50"}))
    pages, token = [], None
    while True:
        status, page = call("GET", f"{url}?limit=2" + (f"&next_token={token}" if token else ""))
        pages.append([item["id"] for item in page["items"]])
        token = page["next_token"]
        if not token:
            break
    report["pages"] = pages
    report["deleted"] = call("DELETE", f"{url}/{created[1]['id']}")[0]
    report["read_after_delete"] = _answer(*call("GET", f"{url}/{created[1]['id']}"))
    report["rows"] = rows.count()
    report["terminated"] = _drill(rows, lambda: None, lambda: call("GET", f"{url}/{first}"))
    secrets, secret_arn = session.client("secretsmanager"), rows.secret_arn
    version = _current_version(secrets, secret_arn)
    report["rotated"] = _drill(
        rows,
        lambda: _rotate(secrets, secret_arn, version),
        lambda: call("POST", url, json.dumps({"name": "after rotation", "quantity": 1})),
    )
    report["rows_after_drills"] = rows.count()
    return report


# --8<-- [end:run]


# --8<-- [start:drill]
def _drill(rows: Rows, before: Callable[[], Any], request: Callable[[], tuple[int, Any]]) -> dict[str, Any]:
    """Note the function's connections, do ``before`` (e.g. rotate the secret), end the connections on the server,
    send ``request``, and note the connections again."""
    connections = rows.function_connections()
    done = before()
    ended = rows.end_function_connections()
    status, body = request()
    return {
        "connections_before": connections,
        "done": done,
        "ended": ended,
        "answer": _answer(status, body) if status >= 400 else {"status": status},
        "connections_after": rows.function_connections(),
    }


def _current_version(secrets: Any, secret_arn: str) -> str:
    stages = secrets.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
    return str(next(version for version, labels in stages.items() if "AWSCURRENT" in labels))


def _rotate(secrets: Any, secret_arn: str, before: str) -> dict[str, str]:
    """Rotate the secret now and wait until its new version is current (no version pending any more)."""
    secrets.rotate_secret(SecretId=secret_arn)
    started = time.monotonic()
    while True:
        stages = secrets.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
        current = next(version for version, labels in stages.items() if "AWSCURRENT" in labels)
        pending = any("AWSPENDING" in labels and "AWSCURRENT" not in labels for labels in stages.values())
        if current != before and not pending:
            return {"previous_version": before, "current_version": current}
        if time.monotonic() - started > PATIENCE_S:
            raise TimeoutError(f"the rotation of {secret_arn} did not finish in {PATIENCE_S} s")
        time.sleep(1 if time.monotonic() - started < 60 else 15)


# --8<-- [end:drill]


def _answer(status: int, body: Any) -> dict[str, Any]:
    return {"status": status, "message": body.get("message") if isinstance(body, dict) else body}


class Rows:
    """The items table and the function's connections as the database sees them, through the Data API."""

    def __init__(self, session: boto3.Session, parameter_path: str) -> None:
        found = session.client("ssm").get_parameters_by_path(Path=parameter_path, Recursive=True)["Parameters"]
        values = {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in found}
        self._data_api = session.client("rds-data")
        self.secret_arn = values["secret-arn"]
        self._where = {
            "resourceArn": values["cluster-arn"],
            "secretArn": values["secret-arn"],
            "database": values["database-name"],
        }

    def _one(self, sql: str) -> Any:
        record = self._data_api.execute_statement(**self._where, sql=sql)["records"][0][0]
        return None if record.get("isNull") else next(iter(record.values()))

    def count(self) -> int:
        """How many items there are."""
        return int(self._one("SELECT count(*) FROM items"))

    def fingerprint(self) -> str:
        """A digest of every row: equal fingerprints mean no row was added, changed or removed."""
        return str(self._one("SELECT md5(coalesce(string_agg(items::text, '|' ORDER BY id), '')) FROM items"))

    def function_connections(self) -> list[int]:
        """The server processes (pids) of the function's open connections."""
        sql = (
            "SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '') FROM pg_stat_activity "
            "WHERE application_name = :name"
        )
        found = self._data_api.execute_statement(**self._where, sql=sql, parameters=[_name()])["records"][0][0]
        return [int(pid) for pid in found.get("stringValue", "").split(",") if pid]

    def end_function_connections(self) -> int:
        """End the function's connections on the server (``pg_terminate_backend``), as a failover or a restart
        would; how many there were."""
        sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"
        record = self._data_api.execute_statement(**self._where, sql=sql, parameters=[_name()])["records"][0][0]
        return int(record["longValue"])


def _name() -> dict[str, Any]:
    return {"name": "name", "value": {"stringValue": APPLICATION_NAME}}


def format_report(report: dict[str, Any]) -> str:
    """The story in words."""
    refused = report["refused"]
    lines = [
        f"Items API: {report['url']}",
        f"{len(refused)} bad requests, each refused with a 4xx (validated before any write):",
    ]
    lines += [f"  {name}: {r['status']} {r['message']}" for name, r in refused.items()]
    lines.append(
        "The table is exactly as before them."
        if report["rows_unchanged_by_refusals"]
        else "THE TABLE CHANGED: a bad request reached the database."
    )
    injected = report["created"][-1]
    lines += [
        f"Created {len(report['created'])} items; the name {injected['name']!r} is stored as text "
        "(a query parameter, never part of the SQL).",
        f"Replaced {report['replaced'][1]['id']}: quantity {report['replaced'][1]['quantity']}, "
        f"price {report['replaced'][1]['price']}.",
        f"Paged through the items two at a time: {len(report['pages'])} pages, "
        f"{sum(len(p) for p in report['pages'])} items, each once.",
        f"Deleted one ({report['deleted']}); reading it again: {report['read_after_delete']['status']} "
        f"{report['read_after_delete']['message']}. {report['rows']} rows remain.",
    ]
    terminated, rotated = report["terminated"], report["rotated"]
    lines += [
        f"The function held connection(s) {terminated['connections_before']}; ended {terminated['ended']} on the "
        f"server (pg_terminate_backend). The next read answered {terminated['answer']['status']}, on connection(s) "
        f"{terminated['connections_after']}: a new connection, opened by the function when the old one broke.",
        f"Rotated the secret (version {rotated['done']['previous_version'][:8]}… -> "
        f"{rotated['done']['current_version'][:8]}…), then ended connection(s) {rotated['connections_before']}. "
        f"The next create answered {rotated['answer']['status']}, on connection(s) {rotated['connections_after']}: "
        "a new connection, signed in with the rotated password (the function was not redeployed).",
        f"{report['rows_after_drills']} rows now.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    session = boto3.Session()
    cloudformation = session.client("cloudformation")
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for name in STACKS
        for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    }
    print(format_report(run(outputs, session)))
