"""``quiesce`` is exact: when it answers, the work already caused has all happened, however it was chained
(asynchronous invocation, then a queue, then a mapped function), so tests read results without sleeping."""

from __future__ import annotations

import json

from lambda_code import create_function, drain, output_queue, queue_arn

# Sends its event on to the queue named by NEXT (an asynchronous producer feeding a mapped consumer).
PRODUCER = """
import json, os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["NEXT"], MessageBody=json.dumps(event))
"""

# Records each message body of its batch in OUTPUT.
CONSUMER = """
import os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    for record in event["Records"]:
        sqs.send_message(QueueUrl=os.environ["OUTPUT"], MessageBody=record["body"])
"""

RUNS = 20


def test_quiesce_waits_for_async_work_that_feeds_a_mapped_queue(account, quiesce):
    output = output_queue(account)
    work = output_queue(account, "work")
    producer = create_function(account, "producer", PRODUCER, environment={"NEXT": work})
    consumer = create_function(account, "consumer", CONSUMER, environment={"OUTPUT": output})
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn(account, work), FunctionName=consumer, BatchSize=1
    )
    lambda_ = account.client("lambda")

    missed = []
    for run in range(RUNS):
        lambda_.invoke(FunctionName=producer, InvocationType="Event", Payload=json.dumps({"run": run}).encode())
        assert quiesce()
        if drain(account, output) != [{"run": run}]:  # read at once: no wait, no retry
            missed.append(run)
    assert missed == [], f"quiesce returned before the consumer ran in runs {missed} of {RUNS}"
