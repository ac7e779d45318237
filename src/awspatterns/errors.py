"""The base of every error the ``patterns`` command reports as a plain message instead of a traceback."""

__all__ = ["PatternsError"]


class PatternsError(RuntimeError):
    """A failure the user can act on; the message says what failed and what to do."""
