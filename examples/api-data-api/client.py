"""Drive the api-data-api pattern: bad requests are refused and change no row; then items are created, read,
replaced, paged through and deleted.

Run it with ``patterns run api-data-api`` (deploys first if needed), or directly against deployed stacks:
``python client.py`` (uses the stacks' outputs and the usual AWS environment). The API needs no AWS
credentials: any HTTP client can call ``ItemsUrl``. Checking the rows does: the client reads them through the
Data API itself, with the database's parameters.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import boto3

STACKS = ("DataApiNetwork", "DataApiDatabase", "ApiDataApi")
INJECTION = "Robert'); DROP TABLE items; --"


# --8<-- [start:call]
def call(method: str, url: str, body: str | bytes | None = None) -> tuple[int, Any]:
    """One HTTP request; the status and the JSON answer (``None`` for an empty one)."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the stack's own URL)
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


# --8<-- [end:call]


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# --8<-- [start:bad]
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


# --8<-- [end:bad]


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session) -> dict[str, Any]:
    """Send the bad requests (each refused, the table's fingerprint unchanged), then create five items (one named
    with an SQL injection string, stored as text), read one, replace one, page through all of them two at a time,
    delete one and try to read it again."""
    url = outputs["ItemsUrl"].rstrip("/")
    rows = Rows(session, outputs["ItemsParameterPath"])
    status, first = call("GET", url)  # the first call creates the schema
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
    return report


# --8<-- [end:run]


def _answer(status: int, body: Any) -> dict[str, Any]:
    return {"status": status, "message": body.get("message") if isinstance(body, dict) else body}


class Rows:
    """The items table as the database holds it, read through the Data API with the database's parameters."""

    def __init__(self, session: boto3.Session, parameter_path: str) -> None:
        found = session.client("ssm").get_parameters_by_path(Path=parameter_path, Recursive=True)["Parameters"]
        values = {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in found}
        self._data_api = session.client("rds-data")
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
        "(a typed parameter, never part of the SQL).",
        f"Replaced {report['replaced'][1]['id']}: quantity {report['replaced'][1]['quantity']}, "
        f"price {report['replaced'][1]['price']}.",
        f"Paged through the items two at a time: {len(report['pages'])} pages, "
        f"{sum(len(p) for p in report['pages'])} items, each once.",
        f"Deleted one ({report['deleted']}); reading it again: {report['read_after_delete']['status']} "
        f"{report['read_after_delete']['message']}. {report['rows']} rows remain.",
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
