"""Running something later without holding a thread while waiting: the retry waits of asynchronous invocation."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Scheduler"]

log = logging.getLogger("awspatterns.sandbox.deliveries.scheduler")


class Scheduler:
    """Calls each callback once its delay has passed, in due order, on one background thread.

    Callbacks must be quick (hand the work to a pool): they run one after another on the scheduler's thread.
    """

    def __init__(self, name: str) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # keeps equal due times in submission order, and never compares callbacks
        self._condition = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` once ``delay_s`` seconds have passed."""
        with self._condition:
            if self._stopped:
                raise RuntimeError("the scheduler is shut down")
            heapq.heappush(self._due, (time.monotonic() + delay_s, next(self._order), callback))
            self._condition.notify()

    def shutdown(self) -> None:
        """Stop; callbacks not yet due are dropped."""
        with self._condition:
            self._stopped = True
            self._due.clear()
            self._condition.notify()

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._due or self._due[0][0] > time.monotonic()):
                    self._condition.wait(self._due[0][0] - time.monotonic() if self._due else None)
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._due)
            try:
                callback()
            except Exception:
                log.exception("a scheduled callback failed")
