"""The deliveries' work in flight, counted in one place, so that waiting for quiet can be exact.

A *unit* is anything the sandbox does in the background that can create or move work: an asynchronous invocation
from its submission to its last attempt and destination, one poll of an event source mapping, one Firehose
delivery. Every unit begins before it takes or creates work and ends after its effects are in place, and a unit
that causes another (an invocation that publishes, a poll that invokes asynchronously) begins the other before it
ends itself. Work that waits rather than runs (messages in a mapped queue, unread stream records, buffered
Firehose records) is what the components report as busy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Activity"]


class Activity:
    """How many units are in flight, and how many ever began (the count that shows a unit started unseen)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._in_flight = 0
        self._begun = 0

    def begin(self) -> None:
        """A unit begins; call before it takes or creates any work."""
        with self._condition:
            self._in_flight += 1
            self._begun += 1
            self._condition.notify_all()

    def end(self) -> None:
        """A unit ends; call after its effects are in place (and after it began any unit it causes)."""
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()

    @contextmanager
    def unit(self) -> Iterator[None]:
        """Run the body as one unit."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    @property
    def in_flight(self) -> int:
        """Units begun and not yet ended."""
        with self._condition:
            return self._in_flight

    def idle_since(self, timeout_s: float) -> int | None:
        """Wait until no unit is in flight; return how many units had begun at that moment, or ``None`` if the
        timeout passed first."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._in_flight == 0, timeout=max(0.0, timeout_s)):
                return None
            return self._begun

    def still_idle(self, begun: int) -> bool:
        """Whether no unit is in flight and none began since :meth:`idle_since` returned ``begun``."""
        with self._condition:
            return self._in_flight == 0 and self._begun == begun

    def wait_for_news(self, begun: int, timeout_s: float) -> None:
        """Wait until a unit begins after ``begun`` units (or the timeout passes)."""
        with self._condition:
            self._condition.wait_for(lambda: self._begun != begun, timeout=max(0.0, timeout_s))
