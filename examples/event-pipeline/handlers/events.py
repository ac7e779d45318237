"""What an event in the lake is: the model the transformation validates every record against, and the line it
writes for each valid one (one JSON document a line, the columns of the Glue table)."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: The largest event the pipeline accepts (Firehose takes records up to 1,000 KiB; the lake wants small rows).
MAX_EVENT_BYTES = 64 * 1024


# --8<-- [start:model]
class Event(BaseModel):
    """One business event, as emitters send it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    event_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    source: Literal["orders", "payments", "audit"]
    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")
    occurred_at: AwareDatetime = Field(strict=False)  # ISO 8601 text with its time zone
    detail: dict[str, Any] = Field(default_factory=dict)


def lake_line(event: Event, channel: str) -> bytes:
    """The line the lake holds for a valid event: ``channel`` says how it came (``direct`` or ``logs``)."""
    row = {
        "event_id": event.event_id,
        "source": event.source,
        "type": event.type,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "channel": channel,
        "detail": json.dumps(event.detail, separators=(",", ":"), sort_keys=True),
    }
    return (json.dumps(row, separators=(",", ":")) + "\n").encode()


# --8<-- [end:model]
