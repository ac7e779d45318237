"""``ItemsRepository`` over the Aurora Data API: every call is one HTTPS request, no connection is kept.

SQL carries ``:named`` parameters with explicit types (``typeHint`` for UUID and DECIMAL), never values pasted into
the text. The schema is created on first use, in one transaction under an advisory lock, so concurrent first
requests (or a database replaced under a warm function) all find it exactly once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from items_api.repository import Item, NewItem, Page
from items_api.schema import MIGRATION_LOCK, SCHEMA


@dataclass(frozen=True)
class Location:
    """Where the database is: what the Data API needs with every call."""

    cluster_arn: str
    secret_arn: str
    database: str


# --8<-- [start:repository]
class DataApiItems:
    """Items in Aurora PostgreSQL through the Data API (``rds-data``)."""

    def __init__(self, client: Any, where: Location) -> None:
        self._client = client
        self._where = where

    def _execute(self, sql: str, transaction_id: str | None = None, **parameters: Any) -> list[list[Any]]:
        request: dict[str, Any] = {
            "resourceArn": self._where.cluster_arn,
            "secretArn": self._where.secret_arn,
            "database": self._where.database,
            "sql": sql,
            "parameters": [_parameter(name, value) for name, value in parameters.items()],
        }
        if transaction_id:
            request["transactionId"] = transaction_id
        records = self._client.execute_statement(**request).get("records", [])
        return [[_plain(field) for field in record] for record in records]

    def migrate(self) -> None:
        arns = {"resourceArn": self._where.cluster_arn, "secretArn": self._where.secret_arn}
        transaction = self._client.begin_transaction(**arns, database=self._where.database)["transactionId"]
        try:
            self._execute("SELECT pg_advisory_xact_lock(:lock)", transaction, lock=MIGRATION_LOCK)
            self._execute(SCHEMA, transaction)
        except Exception:
            self._client.rollback_transaction(**arns, transactionId=transaction)
            raise
        self._client.commit_transaction(**arns, transactionId=transaction)

    def create(self, item: NewItem) -> Item:
        rows = self._execute(
            "INSERT INTO items (name, quantity, price) VALUES (:name, :quantity, :price) RETURNING "
            "id::text, name, quantity, price::text, created_at",
            name=item.name,
            quantity=item.quantity,
            price=item.price,
        )
        return _item(rows[0])

    def get(self, item_id: uuid.UUID) -> Item | None:
        rows = self._execute(
            "SELECT id::text, name, quantity, price::text, created_at FROM items WHERE id = :id", id=item_id
        )
        return _item(rows[0]) if rows else None

    def replace(self, item_id: uuid.UUID, item: NewItem) -> Item | None:
        rows = self._execute(
            "UPDATE items SET name = :name, quantity = :quantity, price = :price WHERE id = :id RETURNING "
            "id::text, name, quantity, price::text, created_at",
            id=item_id,
            name=item.name,
            quantity=item.quantity,
            price=item.price,
        )
        return _item(rows[0]) if rows else None

    def delete(self, item_id: uuid.UUID) -> bool:
        return bool(self._execute("DELETE FROM items WHERE id = :id RETURNING id::text", id=item_id))

    def page(self, after: uuid.UUID | None, limit: int) -> Page:
        # One row more than asked tells whether there is a next page, without a count.
        if after is None:
            rows = self._execute(
                "SELECT id::text, name, quantity, price::text, created_at FROM items ORDER BY id LIMIT :limit",
                limit=limit + 1,
            )
        else:
            rows = self._execute(
                "SELECT id::text, name, quantity, price::text, created_at FROM items "
                "WHERE id > :after ORDER BY id LIMIT :limit",
                after=after,
                limit=limit + 1,
            )
        items = [_item(row) for row in rows[:limit]]
        return Page(items=items, after=items[-1].id if len(rows) > limit else None)


# --8<-- [end:repository]


# --8<-- [start:parameters]
def _parameter(name: str, value: Any) -> dict[str, Any]:
    """A typed Data API parameter: the type travels with the value, the SQL text never contains it."""
    if isinstance(value, bool):
        return {"name": name, "value": {"booleanValue": value}}
    if isinstance(value, int):
        return {"name": name, "value": {"longValue": value}}
    if isinstance(value, uuid.UUID):
        return {"name": name, "value": {"stringValue": str(value)}, "typeHint": "UUID"}
    if isinstance(value, Decimal):
        return {"name": name, "value": {"stringValue": str(value)}, "typeHint": "DECIMAL"}
    if isinstance(value, str):
        return {"name": name, "value": {"stringValue": value}}
    raise TypeError(f"no Data API type for {type(value).__name__}")


# --8<-- [end:parameters]


def _plain(field: dict[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    return next(iter(field.values()))


def _item(row: list[Any]) -> Item:
    item_id, name, quantity, price, created_at = row
    return Item(
        id=uuid.UUID(item_id),
        name=name,
        quantity=quantity,
        price=Decimal(price),
        created_at=datetime.fromisoformat(created_at),
    )
