"""Orders as the consumer sees them: the message body (what the API accepted), the price list, and recording a
processed order.

The API already refused malformed requests, but a queue may also hold messages from other producers, so the body
is parsed again here: what does not parse raises :class:`MalformedMessage`; an order naming a product that does not
exist raises :class:`UnknownProduct`. No retry fixes either, so the consumer parks them.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import boto3
from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: The products the shop sells, with their unit prices.
PRICES: dict[str, Decimal] = {
    "BOOK-1": Decimal("12.50"),
    "BOOK-2": Decimal("30.00"),
    "MUG-1": Decimal("8.90"),
    "PEN-10": Decimal("4.20"),
}

orders_table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


class MalformedMessage(ValueError):
    """The message is not an order; retrying will not change that."""


class UnknownProduct(ValueError):
    """The order names a product the shop does not sell; retrying will not change that."""


# --8<-- [start:models]
class Item(BaseModel):
    """One line of an order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str = Field(pattern=r"^[A-Z0-9-]{1,32}$")
    quantity: int = Field(ge=1, le=1000, strict=True)


class Order(BaseModel):
    """The request body the API accepted (the same rules as the API's model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")
    customer: str = Field(min_length=1, max_length=100)
    items: tuple[Item, ...] = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=500)


# --8<-- [end:models]


def parse_order(body: str) -> Order:
    """The order in a message body; :class:`MalformedMessage` when it is not one."""
    try:
        return Order.model_validate_json(body)
    except ValidationError as error:
        raise MalformedMessage(f"not an order: {error.errors(include_url=False)[:3]}") from error


def total_of(order: Order) -> Decimal:
    """The order's total; :class:`UnknownProduct` for a SKU not in the price list."""
    unknown = sorted({item.sku for item in order.items} - set(PRICES))
    if unknown:
        raise UnknownProduct(f"order {order.order_id} names unknown products: {', '.join(unknown)}")
    return sum((PRICES[item.sku] * item.quantity for item in order.items), Decimal("0"))


def record_order(order: Order, total: Decimal, message_id: str, request_id: str) -> None:
    """Record the processed order. ``times_processed`` counts every write: idempotency keeps it at 1."""
    orders_table.update_item(
        Key={"order_id": order.order_id},
        UpdateExpression="SET customer = :c, #total = :t, message_id = :m, request_id = :r ADD times_processed :one",
        ExpressionAttributeNames={"#total": "total"},
        ExpressionAttributeValues={
            ":c": order.customer,
            ":t": total,
            ":m": message_id,
            ":r": request_id,
            ":one": 1,
        },
    )


def record_duplicate(order_id: str, message_id: str) -> None:
    """Note a message that carried an order already processed (a client's retry, or SQS delivering twice)."""
    orders_table.update_item(
        Key={"order_id": order_id},
        UpdateExpression="ADD duplicate_message_ids :m",
        ExpressionAttributeValues={":m": {message_id}},
    )


def as_result(order: Order, total: Decimal, message_id: str) -> dict[str, Any]:
    """What processing returns, and what idempotency stores for later deliveries of the same order."""
    return {"order_id": order.order_id, "total": str(total), "message_id": message_id}
