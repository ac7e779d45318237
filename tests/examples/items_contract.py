"""The ``ItemsRepository`` contract: one suite for every store behind the ``/items`` API.

``api-data-api`` runs it against its Data API repository (over the sandbox's real PostgreSQL) and the HTTP layer's
tests use an in-memory store that passes it too; ``api-postgres-vpc`` runs it against its psycopg repository. A
test module subclasses :class:`ItemsRepositoryContract` and provides a ``repository`` fixture (empty, migrated).
"""

from __future__ import annotations

import uuid
from decimal import Decimal


class ItemsRepositoryContract:
    """What every ``ItemsRepository`` must do. The test module provides two fixtures: ``repository`` (an empty,
    migrated store) and ``models`` (the shared ``items_api.repository`` module)."""

    def test_migrating_again_keeps_the_rows(self, repository, models):
        kept = repository.create(models.NewItem(name="lamp", quantity=1))
        repository.migrate()
        assert repository.get(kept.id) == kept

    def test_an_item_round_trips_with_its_types(self, repository, models):
        created = repository.create(models.NewItem(name="O'Brien; DROP TABLE items", quantity=3, price=Decimal("9.90")))
        assert (created.name, created.quantity, created.price) == ("O'Brien; DROP TABLE items", 3, Decimal("9.90"))
        assert isinstance(created.id, uuid.UUID)
        assert repository.get(created.id) == created

    def test_replace_and_delete_touch_only_existing_items(self, repository, models):
        item = repository.create(models.NewItem(name="desk", quantity=1))
        unknown = uuid.uuid4()
        assert repository.replace(unknown, models.NewItem(name="x", quantity=1)) is None
        assert repository.get(unknown) is None and repository.delete(unknown) is False
        replaced = repository.replace(item.id, models.NewItem(name="desk", quantity=5, price=Decimal("1.50")))
        assert replaced is not None and (replaced.quantity, replaced.price, replaced.id) == (
            5,
            Decimal("1.50"),
            item.id,
        )
        assert replaced.created_at == item.created_at
        assert repository.delete(item.id) is True and repository.get(item.id) is None

    def test_pages_cover_every_item_once_in_id_order(self, repository, models):
        ids = sorted(repository.create(models.NewItem(name=f"item {n}", quantity=n)).id for n in range(5))
        seen, after, pages = [], None, 0
        while True:
            page = repository.page(after, 2)
            seen += [item.id for item in page.items]
            pages += 1
            if page.after is None:
                break
            after = page.after
        assert seen == ids and pages == 3
        assert repository.page(ids[-1], 2).items == []
