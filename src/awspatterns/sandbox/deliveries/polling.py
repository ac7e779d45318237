"""The loop Lambda's pollers share: every enabled event source mapping gets one poll at a time, on a worker pool;
a deleted mapping is dropped. ``SqsPoller`` (queues) and ``StreamPoller`` (streams) say what one poll does."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

__all__ = ["MappingPoller"]

log = logging.getLogger("awspatterns.sandbox.deliveries.polling")

Entry = TypeVar("Entry")


class MappingPoller(Generic[Entry]):
    """Polls its entries (one per event source mapping, keyed by the mapping's UUID) on a background thread."""

    def __init__(
        self, is_enabled: Callable[[Any], bool | None], name: str, workers: int, interval_s: float = 0.05
    ) -> None:
        """``is_enabled(mapping)`` says whether a mapping is enabled, or ``None`` once it is deleted."""
        self._is_enabled = is_enabled
        self.interval_s = interval_s
        self.entries: dict[str, Entry] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def mapping_of(self, entry: Entry) -> Any:
        """The mapping an entry polls for (it has ``uuid``, ``function_arn`` and a ``busy`` flag)."""
        return entry

    def poll(self, entry: Entry) -> None:
        """One poll: read what is waiting and invoke the function with it."""
        raise NotImplementedError

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def busy(self) -> bool:
        """Whether work waits or is in flight for any mapping."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            for entry in list(self.entries.values()):
                mapping = self.mapping_of(entry)
                enabled = self._is_enabled(mapping)
                if enabled is None:  # the mapping was deleted
                    self.entries.pop(mapping.uuid, None)
                elif enabled and not mapping.busy:
                    mapping.busy = True
                    self._pool.submit(self._poll_once, entry)

    def _poll_once(self, entry: Entry) -> None:
        mapping = self.mapping_of(entry)
        try:
            self.poll(entry)
        except Exception:
            log.exception("polling for event source mapping %s (%s) failed", mapping.uuid, mapping.function_arn)
        finally:
            mapping.busy = False
