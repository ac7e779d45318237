"""The audit function: it validates the audit events it is given and writes each to its log as one structured
line (``audit_event``); the log group's subscription forwards those lines to the pipeline. It puts nothing itself.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from events import Event
from pydantic import BaseModel, Field

logger = Logger()
tracer = Tracer()


class AuditRequest(BaseModel):
    """Audit events to record (at most 1,000 a call)."""

    events: list[Event] = Field(min_length=1, max_length=1000)


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=AuditRequest)
def handler(request: AuditRequest, context: LambdaContext) -> dict[str, Any]:
    """Log each audit event as a structured line; a malformed request fails as a whole, before anything is logged."""
    for event in request.events:
        if event.source != "audit":
            raise ValueError(f"event {event.event_id} has source {event.source!r}; this function logs audit events")
    for event in request.events:
        logger.info("audit", extra={"audit_event": event.model_dump(mode="json")})
    return {"logged": len(request.events)}


# --8<-- [end:handler]
