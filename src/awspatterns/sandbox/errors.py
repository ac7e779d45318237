"""The exception the sandbox raises when a template or request uses something it cannot honour."""

from __future__ import annotations

__all__ = ["SandboxUnsupported"]


class SandboxUnsupported(Exception):
    """A template or request uses something the sandbox cannot honour; the message names it."""
