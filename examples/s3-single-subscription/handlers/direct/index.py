"""The direct consumer: S3 invokes it asynchronously with one event, and it records the invoice the event names.

It raises on any failure: Lambda retries the event twice, then sends it with the error to the on-failure
destination. A malformed event fails validation before any work is done.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext
from invoices import objects_in, read_invoice, record_invoice

logger = Logger()
tracer = Tracer()


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=S3Model)
def handler(event: S3Model, context: LambdaContext) -> dict[str, int]:
    """Record every invoice the event names; raise to have Lambda retry, then park the event."""
    recorded = duplicates = 0
    for obj in objects_in(event):
        invoice = read_invoice(obj)  # InvalidDocument: retried all the same (Lambda cannot tell), then parked
        if record_invoice(obj, invoice, "direct", context.aws_request_id):
            recorded += 1
        else:
            duplicates += 1
    logger.info("recorded invoices", extra={"recorded": recorded, "duplicates": duplicates})
    return {"recorded": recorded, "duplicates": duplicates}


# --8<-- [end:handler]
