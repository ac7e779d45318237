"""SQS queues with the catalog's defaults: SSE-SQS, TLS-only, and a dead-letter queue for work queues."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from awspatterns.app import acknowledge

__all__ = ["DeadLetterQueue", "QueueWithDlq"]


# --8<-- [start:queues]
class QueueWithDlq(Construct):
    """An SSE-SQS encrypted, TLS-only queue whose messages move to a 14-day DLQ after ``max_receive_count``.

    Args:
        scope: the parent construct.
        construct_id: the block's id.
        visibility_timeout: how long a received message stays hidden (at least 6x a Lambda consumer's timeout).
        max_receive_count: receives after which a message moves to the DLQ.
        retention: how long the queue keeps a message.

    Attributes:
        queue: the ``sqs.Queue`` (the block's default child: its logical id is ``<id>...``).
        dead_letter_queue: its DLQ, ``<id>/Dlq``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        visibility_timeout: cdk.Duration = cdk.Duration.seconds(30),
        max_receive_count: int = 3,
        retention: cdk.Duration = cdk.Duration.days(4),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = DeadLetterQueue(self, "Dlq").queue
        self.queue = sqs.Queue(
            self,
            "Default",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            retention_period=retention,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
        )


class DeadLetterQueue(Construct):
    """An encrypted, TLS-only queue that keeps failed messages for 14 days (the SQS maximum).

    Attributes:
        queue: the ``sqs.Queue`` (the block's default child: its logical id is ``<id>...``).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Default",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        acknowledge(self.queue, {"AwsSolutions-SQS3": "This queue is itself a dead-letter queue."})


# --8<-- [end:queues]
