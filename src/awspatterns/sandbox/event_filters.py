"""Lambda's event filtering (``FilterCriteria``), shared by the queue and the stream event sources."""

from __future__ import annotations

from typing import Any

from moto.events.models import EventPattern

__all__ = ["filter_criteria", "matches_filters"]


def matches_filters(filters: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Whether a record passes an event source mapping's ``FilterCriteria`` (no filters: every record does).
    Patterns use EventBridge's syntax and apply to the record as Lambda presents it, with JSON payloads
    (an SQS ``body``, a Kinesis ``data``) decoded first."""
    if not filters:
        return True
    return any(EventPattern.load(f["Pattern"]).matches_event(record) for f in filters)  # type: ignore[arg-type]


def filter_criteria(spec: Any) -> list[dict[str, Any]]:
    """The filters of a mapping's ``FilterCriteria`` property."""
    return list((spec or {}).get("Filters") or [])
