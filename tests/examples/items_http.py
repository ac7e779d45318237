"""The ``/items`` HTTP layer's test inputs, shared by the tests of ``api-data-api`` (which test the shared layer once,
over an in-memory store) and ``api-postgres-vpc`` (which send the same bad requests to its function and check the
database was never asked): REST API proxy events and the bad-input table."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any


def proxy_event(
    method: str, path: str = "/items", body: Any = None, query: dict[str, str] | None = None, base64_body: bool = False
) -> dict[str, Any]:
    resource = "/items/{item_id}" if path.count("/") > 1 else "/items"
    raw = body if body is None or isinstance(body, str) else json.dumps(body)
    if base64_body and raw is not None:
        raw = base64.b64encode(raw.encode()).decode()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"item_id": path.split("/", 2)[2]} if resource != "/items" else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "r-1",
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": raw,
        "isBase64Encoded": base64_body,
    }


UNKNOWN = str(uuid.uuid4())

FORGED: list[str] = [
    "not-a-token",
    "x" * 201,
    base64.urlsafe_b64encode(b'{"v": 1, "after": "1 OR 1=1"}').decode(),
    base64.urlsafe_b64encode(b'{"v": 2, "after": "%s"}' % UNKNOWN.encode()).decode(),
    base64.urlsafe_b64encode(b'{"v": 1, "after": "%s", "limit": 1000}' % UNKNOWN.encode()).decode(),
    base64.urlsafe_b64encode(b"[1, 2]").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]
BAD: dict[str, tuple[tuple[Any, ...], dict[str, Any], int, str]] = {
    "malformed JSON": (("POST",), {"body": '{"name": "lamp", "quantity": '}, 400, "invalid item"),
    "no body": (("POST",), {}, 400, "a JSON body is required"),
    "JSON that is not an object": (("POST",), {"body": "[1, 2]"}, 400, "invalid item"),
    "quantity as a string": (("POST",), {"body": {"name": "lamp", "quantity": "2"}}, 400, "quantity"),
    "quantity as a float": (("POST",), {"body": {"name": "lamp", "quantity": 2.0}}, 400, "quantity"),
    "quantity as a boolean": (("POST",), {"body": {"name": "lamp", "quantity": True}}, 400, "quantity"),
    "SQL in a number": (("POST",), {"body": {"name": "x", "quantity": "1); DROP TABLE items; --"}}, 400, "quantity"),
    "negative quantity": (("POST",), {"body": {"name": "lamp", "quantity": -1}}, 400, "quantity"),
    "price with three decimals": (("POST",), {"body": {"name": "l", "quantity": 1, "price": "1.999"}}, 400, "price"),
    "price not a number": (("POST",), {"body": {"name": "l", "quantity": 1, "price": "free"}}, 400, "price"),
    "empty name": (("POST",), {"body": {"name": "", "quantity": 1}}, 400, "name"),
    "name too long": (("POST",), {"body": {"name": "x" * 101, "quantity": 1}}, 400, "name"),
    "control character in name": (("POST",), {"body": {"name": "a\u0000b", "quantity": 1}}, 400, "name"),
    "unknown field": (("POST",), {"body": {"name": "l", "quantity": 1, "id": UNKNOWN}}, 400, "id"),
    "oversized body": (("POST",), {"body": {"name": "l", "quantity": 1, "pad": "x" * 5000}}, 413, "at most 4096"),
    "SQL in the id": (("GET", "/items/1' OR '1'='1"), {}, 400, "id must be a UUID"),
    "SQL in the id (delete)": (("DELETE", "/items/1; DROP TABLE items"), {}, 400, "id must be a UUID"),
    "bad id (replace)": (("PUT", "/items/42"), {"body": {"name": "l", "quantity": 1}}, 400, "id must be a UUID"),
    "unknown id (read)": (("GET", f"/items/{UNKNOWN}"), {}, 404, "no item"),
    "unknown id (replace)": (("PUT", f"/items/{UNKNOWN}"), {"body": {"name": "l", "quantity": 1}}, 404, "no item"),
    "unknown id (delete)": (("DELETE", f"/items/{UNKNOWN}"), {}, 404, "no item"),
    "limit zero": (("GET",), {"query": {"limit": "0"}}, 400, "limit"),
    "limit too large": (("GET",), {"query": {"limit": "101"}}, 400, "limit"),
    "SQL in the limit": (("GET",), {"query": {"limit": "1; DROP TABLE items"}}, 400, "limit"),
    "unknown query parameter": (("GET",), {"query": {"offset": "5"}}, 400, "unknown query parameters: offset"),
    **{f"forged token {n}": (("GET",), {"query": {"next_token": t}}, 400, "next_token") for n, t in enumerate(FORGED)},
}
