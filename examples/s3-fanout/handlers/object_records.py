"""What both subscribers share: the records table and the idempotency of processing one S3 event."""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

records_table = boto3.resource("dynamodb").Table(os.environ["RECORDS_TABLE"])
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
# S3 delivers at least once; the same bucket/key/version/sequencer is the same event. Records are keyed by the
# function name too, so the subscribers share the table without sharing results.
idempotency = IdempotencyConfig(
    event_key_jmespath="[bucket, key, version_id, sequencer]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=3600,
)
