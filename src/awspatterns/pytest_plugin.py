"""pytest plugin of the catalog (registered through the ``pytest11`` entry point).

It provides ``load_handler`` and ``lambda_context`` for handler unit tests; the sandbox fixtures join it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from awspatterns.testing import FakeLambdaContext, load_handler


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A Lambda context object good enough for Powertools."""
    return FakeLambdaContext()


@pytest.fixture
def handler_loader() -> Callable[[str, str], ModuleType]:
    """``handler_loader(slug, "indexer.index")`` imports a handler module fresh (see :func:`load_handler`)."""
    return load_handler
