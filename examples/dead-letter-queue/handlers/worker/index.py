"""The worker: invoked asynchronously with one order, it records it.

It raises on any failure (a malformed event, a currency not accepted yet, a throttled write): Lambda retries the
event twice, then sends its invocation record, error included, to the on-failure destination.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from orders import Order, process

logger = Logger()
tracer = Tracer()


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=Order)
def handler(order: Order, context: LambdaContext) -> dict[str, object]:
    """Record the order; raise to have Lambda retry, then park the event with its error."""
    recorded = process(order, source="worker", request_id=context.aws_request_id)
    logger.info("order processed", extra={"order_id": order.order_id, "recorded": recorded})
    return {"order_id": order.order_id, "recorded": recorded}


# --8<-- [end:handler]
