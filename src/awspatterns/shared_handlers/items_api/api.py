"""The HTTP layer of ``/items``: routes, input validation and error answers, independent of the store.

``create_app`` takes a function that gives an ``ItemsRepository``: ``api-data-api`` passes its Data API one,
``api-postgres-vpc`` its psycopg one. This module is written once and shipped in both functions' assets as the
package ``items_api`` (``PythonFunction(shared_code=[ITEMS_API])``). Every refusal is a 4xx with a message
saying what is wrong, decided before the store is touched, so bad input never changes a row.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError, ServiceError
from pydantic import ValidationError

from .repository import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    InvalidToken,
    Item,
    ItemsRepository,
    NewItem,
    decode_token,
    encode_token,
)

#: The largest body accepted (an item is well under 1 KB); API Gateway itself would carry 10 MB.
MAX_BODY_BYTES = 4096

__all__ = ["MAX_BODY_BYTES", "PayloadTooLargeError", "create_app", "new_item", "page_size", "parse_id"]

logger = Logger(child=True)


class PayloadTooLargeError(ServiceError):
    """HTTP 413."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


# --8<-- [start:validation]
def parse_id(raw: str) -> uuid.UUID:
    """The path's id, which must be a UUID: anything else (``1 OR 1=1``, ``'; DROP TABLE``) is a 400."""
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise BadRequestError(f"id must be a UUID, got {raw[:40]!r}") from error


def new_item(app: APIGatewayRestResolver) -> NewItem:
    """The request body as a :class:`NewItem`: size first, then JSON, then types and ranges."""
    event = app.current_event
    body = event.body or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode()
    except binascii.Error as error:
        raise BadRequestError("the body is not valid base64") from error
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted")
    if not raw.strip():
        raise BadRequestError('a JSON body is required: {"name": ..., "quantity": ..., "price": "0.00"}')
    try:
        return NewItem.model_validate_json(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors(include_url=False)
        )
        raise BadRequestError(f"invalid item: {problems}") from error


def page_size(raw: str | None) -> int:
    """``limit``: an integer from 1 to ``MAX_PAGE_SIZE``."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {raw[:20]!r}")
    return int(raw)


# --8<-- [end:validation]


def _json(item: Item) -> dict[str, Any]:
    return item.model_dump(mode="json")


# --8<-- [start:routes]
def create_app(repository: Callable[[], ItemsRepository]) -> APIGatewayRestResolver:
    """The ``/items`` routes over whatever store ``repository`` gives (called once per request)."""
    app = APIGatewayRestResolver()

    @app.post("/items")
    def create() -> Response[dict[str, Any]]:
        fields = new_item(app)  # every check before the store is touched
        item = repository().create(fields)
        logger.info("item created", extra={"item_id": str(item.id)})
        return Response(status_code=201, body=_json(item), content_type="application/json")

    @app.get("/items")
    def list_items() -> dict[str, Any]:
        query = app.current_event.query_string_parameters or {}
        unknown = sorted(set(query) - {"limit", "next_token"})
        if unknown:
            raise BadRequestError(f"unknown query parameters: {', '.join(unknown)}")
        limit = page_size(query.get("limit"))
        try:
            after = decode_token(query["next_token"]) if "next_token" in query else None
        except InvalidToken as error:
            raise BadRequestError(str(error)) from error
        page = repository().page(after, limit)
        return {"items": [_json(i) for i in page.items], "next_token": encode_token(page.after) if page.after else None}

    @app.get("/items/<item_id>")
    def get(item_id: str) -> dict[str, Any]:
        wanted = parse_id(item_id)
        found = repository().get(wanted)
        if found is None:
            raise NotFoundError(f"no item {item_id}")
        return _json(found)

    @app.put("/items/<item_id>")
    def replace(item_id: str) -> dict[str, Any]:
        wanted, fields = parse_id(item_id), new_item(app)
        replaced = repository().replace(wanted, fields)
        if replaced is None:
            raise NotFoundError(f"no item {item_id}")
        return _json(replaced)

    @app.delete("/items/<item_id>")
    def delete(item_id: str) -> Response[str]:
        wanted = parse_id(item_id)
        if not repository().delete(wanted):
            raise NotFoundError(f"no item {item_id}")
        return Response(status_code=204, body="", content_type="application/json")

    return app


# --8<-- [end:routes]
