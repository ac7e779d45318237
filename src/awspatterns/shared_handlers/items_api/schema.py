"""The items table, and the advisory lock that serialises its creation: the same for every store of the API."""

from __future__ import annotations

__all__ = ["MIGRATION_LOCK", "SCHEMA"]

#: An arbitrary constant: the advisory lock that serialises concurrent migrations.
MIGRATION_LOCK = 7_310_001

# --8<-- [start:schema]
SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name varchar(100) NOT NULL CHECK (length(name) > 0),
    quantity integer NOT NULL CHECK (quantity BETWEEN 0 AND 1000000),
    price numeric(10, 2) NOT NULL CHECK (price >= 0),
    created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
)
"""
# --8<-- [end:schema]
