"""The ``/items`` HTTP layer (``api``) and the store interface it needs (``repository``), shared by ``api-data-api``
and ``api-postgres-vpc``: each function imports it as the top-level package ``items_api``."""
