"""What the worker and the replayer share: the order, the business rule that fails until it is fixed, and recording
an order once.

Lambda may run an asynchronous event more than once, and a redrive replays it later: an order is recorded only if
it is not there yet, so a repeat changes nothing.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

orders = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


class UnsupportedCurrency(ValueError):
    """The order's currency is not accepted (yet): it fails until the accepted currencies change."""


# --8<-- [start:models]
class Order(BaseModel):
    """The event the worker is invoked with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class RequestContext(BaseModel):
    """Who failed, how, and how often: the ``requestContext`` of Lambda's invocation record."""

    request_id: str = Field(alias="requestId")
    function_arn: str = Field(alias="functionArn")
    condition: str  # RetriesExhausted or EventAgeExceeded
    approximate_invoke_count: int = Field(alias="approximateInvokeCount")


class InvocationRecord(BaseModel):
    """What Lambda sends to an on-failure destination: the event, the error and the attempts."""

    version: str
    timestamp: str
    request_context: RequestContext = Field(alias="requestContext")
    request_payload: Any = Field(alias="requestPayload")  # the original event, whatever it was
    response_payload: Any = Field(default=None, alias="responsePayload")  # errorType, errorMessage, stackTrace


# --8<-- [end:models]


# --8<-- [start:process]
def accepted_currencies() -> frozenset[str]:
    """The currencies accepted now, read from SSM Parameter Store and cached for ``SETTINGS_MAX_AGE_SECONDS``."""
    value = parameters.get_parameter(
        os.environ["ACCEPTED_CURRENCIES_PARAMETER"], max_age=int(os.environ.get("SETTINGS_MAX_AGE_SECONDS", "5"))
    )
    return frozenset(code.strip() for code in str(value).split(",") if code.strip())


def process(order: Order, *, source: str, request_id: str) -> bool:
    """Record an order once; returns ``False`` when it was already recorded.

    Raises:
        UnsupportedCurrency: the currency is not accepted (yet).
    """
    accepted = accepted_currencies()
    if order.currency not in accepted:
        raise UnsupportedCurrency(f"{order.currency} is not an accepted currency ({', '.join(sorted(accepted))})")
    try:
        orders.put_item(
            Item={
                "order_id": order.order_id,
                "amount": order.amount,
                "currency": order.currency,
                "recorded_by": source,
                "request_id": request_id,
            },
            ConditionExpression="attribute_not_exists(order_id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False  # a repeated or replayed event: the first one recorded it
        raise
    return True


# --8<-- [end:process]
