"""The protected API's handler: it runs only for requests the JWT authorizer admitted, and says who called.

API Gateway passes the authorizer's context (``principalId``, ``sub``, ``scope``) in the request context; the
handler trusts it because no request reaches the handler without the authorizer's Allow. ``GET /items`` lists
the items (scope ``items:read``), ``POST /items`` accepts a new one (scope ``items:write``) after validating its
body, and echoes it with the caller; nothing is stored, the point is who got through.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)

ITEMS = [{"id": "1", "name": "notebook"}, {"id": "2", "name": "pencil"}]


class NewItem(BaseModel):
    """The body of ``POST /items``: a name, and nothing else."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100)


# --8<-- [start:caller]
def caller() -> dict[str, Any]:
    """Who the authorizer admitted: its ``sub`` and the scopes it granted."""
    context = app.current_event.request_context.authorizer.raw_event or {}
    subject = context.get("sub") or context.get("principalId")
    if not subject:  # only reachable without the authorizer (a misconfigured route): refuse
        raise UnauthorizedError("no authorizer context")
    return {"sub": subject, "scopes": str(context.get("scope", "")).split()}


@app.get("/items")
def list_items() -> dict[str, Any]:
    """The items, and who asked."""
    return {"caller": caller(), "items": ITEMS}


@app.post("/items")
def create_item(item: NewItem) -> Response[dict[str, Any]]:
    """Accept a new item (validated by the model) and echo it with who sent it."""
    who = caller()
    logger.info("item accepted", extra={"sub": who["sub"]})
    return Response(status_code=201, body={"caller": who, "item": item.model_dump()}, content_type="application/json")


# --8<-- [end:caller]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route the REST API proxy event."""
    return app.resolve(event, context)
