"""How the ``patterns`` command talks: results on stdout, progress on stderr."""

from __future__ import annotations

import sys

__all__ = ["progress"]


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)
