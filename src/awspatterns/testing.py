"""Helpers for testing examples: loading a handler module the way Lambda would, and fake Lambda contexts."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from awspatterns.catalog import get_pattern

__all__ = ["FakeLambdaContext", "load_handler"]


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context object that Powertools reads."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (fake) timeout."""
        return self.remaining_ms


def load_handler(slug: str, module: str) -> ModuleType:
    """Import ``examples/<slug>/handlers/<module>.py`` fresh, with the handlers folder first on ``sys.path``.

    Like Lambda, which unpacks the code asset into ``/var/task`` and puts it on the path, the handler's sibling
    modules import by their plain names. Modules cached from another example's handlers are dropped first,
    and the module is re-executed so module-scope clients pick up the current (mocked) environment.
    """
    handlers = get_pattern(slug).directory / "handlers"
    for name, loaded in list(sys.modules.items()):
        origin = getattr(loaded, "__file__", None) or ""
        if origin and _is_handler_module(Path(origin)):
            del sys.modules[name]
    sys.path.insert(0, str(handlers))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(handlers))


def _is_handler_module(path: Path) -> bool:
    return "handlers" in path.parts and "examples" in path.parts
