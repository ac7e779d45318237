"""Handler code written once and shipped in the functions of several examples.

Each folder here is a package a function imports by its plain name (``items_api``, not
``awspatterns.shared_handlers.items_api``): ``PythonFunction(shared_code=[ITEMS_API])`` copies it into the function's
asset next to the example's own ``handlers/``, as Lambda would find it in ``/var/task``. Tests put :data:`ROOT` on
``sys.path`` to import it the same way.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ITEMS_API", "ROOT"]

#: The folder holding the shared packages (what a test puts on ``sys.path``).
ROOT = Path(__file__).parent
#: The ``/items`` HTTP layer and its store interface (``items_api.api``, ``items_api.repository``).
ITEMS_API = ROOT / "items_api"
