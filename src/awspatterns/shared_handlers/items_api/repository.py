"""What the HTTP layer needs from a store of items: the ``ItemsRepository`` protocol, its models and its errors.

Two implementations answer the same protocol: ``DataApiItems`` in ``api-data-api`` (the Aurora Data API over
HTTPS, from outside the VPC) and ``PostgresItems`` in ``api-postgres-vpc`` (psycopg over a kept connection, from
inside the VPC). The HTTP layer (``api.py``) and its tests know only this module, so one test suite runs against
both; both patterns ship this package, ``items_api``, in their functions' assets.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_TOKEN_CHARS",
    "InvalidToken",
    "Item",
    "ItemsRepository",
    "NewItem",
    "Page",
    "decode_token",
    "encode_token",
]

#: The largest page a caller may ask for, and the default.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
#: A token longer than this is refused before it is decoded.
MAX_TOKEN_CHARS = 200

Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


# --8<-- [start:models]
class NewItem(BaseModel):
    """The body of ``POST /items`` and ``PUT /items/{id}``: strict types, nothing unknown."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Name
    quantity: int = Field(ge=0, le=1_000_000)
    price: Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), decimal_places=2)] = Decimal("0")


class Item(NewItem):
    """A stored item."""

    model_config = ConfigDict(extra="forbid", strict=False)
    id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True)
class Page:
    """One page of items in id order, and where the next one starts (``None`` on the last page)."""

    items: list[Item]
    after: uuid.UUID | None


class ItemsRepository(Protocol):
    """A store of items. Every method is one short unit of work: no state is kept between calls."""

    def migrate(self) -> None:
        """Create the schema if it is not there (idempotent, safe when many callers run it at once)."""

    def create(self, item: NewItem) -> Item:
        """Store a new item; the store chooses its id and creation time."""

    def get(self, item_id: uuid.UUID) -> Item | None:
        """The item, or ``None``."""

    def replace(self, item_id: uuid.UUID, item: NewItem) -> Item | None:
        """Replace the item's fields; ``None`` when there is no such item (nothing is created)."""

    def delete(self, item_id: uuid.UUID) -> bool:
        """Delete the item; whether it existed."""

    def page(self, after: uuid.UUID | None, limit: int) -> Page:
        """Up to ``limit`` items with ids greater than ``after``."""


# --8<-- [end:models]


class InvalidToken(ValueError):
    """A pagination token this API did not issue (malformed, tampered with, or from another version)."""


# --8<-- [start:tokens]
def encode_token(after: uuid.UUID) -> str:
    """An opaque token for the page after ``after``: versioned, so its format can change without breaking callers."""
    raw = json.dumps({"v": 1, "after": str(after)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> uuid.UUID:
    """Where a token says the next page starts; anything else raises :class:`InvalidToken`.

    A token carries only a position in a list every caller may read, so a forged one can point nowhere the caller
    could not page to: it is validated, not signed."""
    if not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise InvalidToken("next_token has the wrong length")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidToken("next_token is not a token this API issued") from error
    if not isinstance(decoded, dict) or decoded.keys() != {"v", "after"} or decoded["v"] != 1:
        raise InvalidToken("next_token is not a token this API issued")
    try:
        return uuid.UUID(str(decoded["after"]))
    except ValueError as error:
        raise InvalidToken("next_token is not a token this API issued") from error


# --8<-- [end:tokens]
