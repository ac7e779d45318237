"""Replacing a moto internal, in one place (the canary tests list what is replaced: ``engine.PATCHED``)."""

from __future__ import annotations

__all__ = ["add", "replace"]


def replace(owner: object, name: str, value: object) -> object:
    """Set ``owner.name`` to ``value`` and return what was there; fails loudly if it was not there."""
    original = getattr(owner, name)
    setattr(owner, name, value)
    return original


def add(owner: object, name: str, value: object) -> None:
    """Give ``owner`` a ``name`` it lacks; fails loudly once moto provides one of its own."""
    if hasattr(owner, name):
        raise RuntimeError(f"{owner!r} now has {name!r} of its own; review the sandbox's addition")
    setattr(owner, name, value)
