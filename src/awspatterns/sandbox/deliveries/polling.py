"""The loop Lambda's pollers share: every enabled event source mapping with work waiting gets one poll at a time,
on a worker pool; a deleted mapping is dropped. ``SqsPoller`` (queues) and ``StreamPoller`` (streams) say what
one poll does and what work waits.

Each poll is a unit of :class:`~awspatterns.sandbox.deliveries.activity.Activity`, begun before it takes any work.
An error in one mapping's check or poll is logged and polling goes on: one bad mapping must not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from awspatterns.sandbox.deliveries.activity import Activity

__all__ = ["MappingPoller"]

log = logging.getLogger("awspatterns.sandbox.deliveries.polling")

Entry = TypeVar("Entry")


class MappingPoller(Generic[Entry]):
    """Polls its entries (one per event source mapping, keyed by the mapping's UUID) on a background thread."""

    def __init__(
        self,
        is_enabled: Callable[[Any], bool | None],
        name: str,
        workers: int,
        interval_s: float = 0.05,
        activity: Activity | None = None,
    ) -> None:
        """``is_enabled(mapping)`` says whether a mapping is enabled, or ``None`` once it is deleted."""
        self._is_enabled = is_enabled
        self.interval_s = interval_s
        self.activity = activity or Activity()
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

    def has_work(self, entry: Entry) -> bool:
        """Whether a poll now would find work (checked before a poll begins, so idle mappings cost no poll)."""
        raise NotImplementedError

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def busy(self) -> bool:
        """Whether a poll is running, or work waits for an enabled mapping (what ``quiesce`` waits for)."""
        for entry in list(self.entries.values()):
            mapping = self.mapping_of(entry)
            if mapping.busy:
                return True
            try:
                if self._is_enabled(mapping) and self.has_work(entry):
                    return True
            except Exception:
                log.exception("checking event source mapping %s failed; counted as busy", mapping.uuid)
                return True
        return False

    def shutdown(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            for entry in list(self.entries.values()):
                try:
                    self._consider(entry)
                except Exception:
                    mapping = self.mapping_of(entry)
                    log.exception("checking event source mapping %s (%s) failed", mapping.uuid, mapping.function_arn)

    def _consider(self, entry: Entry) -> None:
        """Start a poll for the entry's mapping if it is enabled, idle and has work waiting."""
        mapping = self.mapping_of(entry)
        enabled = self._is_enabled(mapping)
        if enabled is None:  # the mapping was deleted
            self.entries.pop(mapping.uuid, None)
            return
        if not enabled or mapping.busy or not self.has_work(entry):
            return
        mapping.busy = True
        self.activity.begin()
        try:
            self._pool.submit(self._poll_once, entry)
        except RuntimeError:  # the pool is shut down: the sandbox is stopping
            mapping.busy = False
            self.activity.end()

    def _poll_once(self, entry: Entry) -> None:
        mapping = self.mapping_of(entry)
        try:
            self.poll(entry)
        except Exception:
            log.exception("polling for event source mapping %s (%s) failed", mapping.uuid, mapping.function_arn)
        finally:
            mapping.busy = False
            self.activity.end()
