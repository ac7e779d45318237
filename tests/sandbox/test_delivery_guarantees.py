"""What the sandbox promises about delivery, as AWS does: nothing is lost silently. A failed event is retried and
then lands where AWS puts it (the queue's DLQ, the on-failure destination, the function's or the target's DLQ)
with what AWS says about the failure; and failing work never holds up healthy work."""

from __future__ import annotations

import inspect
import itertools
import json
import threading
from dataclasses import dataclass

from lambda_code import create_function, drain, output_queue, queue_arn

from awspatterns.sandbox.deliveries.async_invoke import AsyncInvoker
from awspatterns.sandbox.deliveries.polling import MappingPoller

#: How many asynchronous invocations the sandbox runs at once.
ASYNC_WORKERS: int = inspect.signature(AsyncInvoker).parameters["workers"].default

ALWAYS_FAILS = """
def handler(event, context):
    raise RuntimeError("this function always fails")
"""

# Records how many failure records had reached the queue named by FAILURES when it ran.
COUNTS_FAILURES = """
import json, os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    name = "ApproximateNumberOfMessages"
    count = int(sqs.get_queue_attributes(QueueUrl=os.environ["FAILURES"], AttributeNames=[name])["Attributes"][name])
    sqs.send_message(QueueUrl=os.environ["OUTPUT"], MessageBody=json.dumps({"failures_before": count}))
"""


# ------------------------------------------------------------------ asynchronous invocation
def test_events_waiting_for_a_retry_do_not_hold_up_other_asynchronous_events(account, quiesce):
    failures = output_queue(account, "failures")
    output = output_queue(account)
    lambda_ = account.client("lambda")
    failing = create_function(account, "failing", ALWAYS_FAILS)
    lambda_.put_function_event_invoke_config(
        FunctionName=failing,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(account, failures)}},
    )
    healthy = create_function(account, "healthy", COUNTS_FAILURES, environment={"FAILURES": failures, "OUTPUT": output})
    failing_events = 2 * ASYNC_WORKERS

    for n in range(failing_events):
        lambda_.invoke(FunctionName=failing, InvocationType="Event", Payload=json.dumps({"n": n}).encode())
    lambda_.invoke(FunctionName=healthy, InvocationType="Event", Payload=b"{}")
    assert quiesce()

    # Each failing event needs two retry waits before its failure record is sent; had those waits held workers,
    # the healthy event would have run only after at least a worker's worth of failing events had given up.
    [seen] = drain(account, output)
    assert seen["failures_before"] < ASYNC_WORKERS
    records = drain(account, failures)
    assert sorted(r["requestPayload"]["n"] for r in records) == list(range(failing_events))  # none lost
    assert {r["requestContext"]["approximateInvokeCount"] for r in records} == {3}


# ------------------------------------------------------------------ polling survives errors
@dataclass
class Mapping:
    uuid: str
    function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:f"
    busy: bool = False


class RecordingPoller(MappingPoller[Mapping]):
    """A poller whose mappings always have work; it notes each poll."""

    def __init__(self, is_enabled):
        super().__init__(is_enabled, "test-poller", workers=1, interval_s=0.01)
        self.polled = threading.Event()

    def has_work(self, entry):
        return True

    def poll(self, entry):
        self.polled.set()


def fails_once(error):
    calls = itertools.count()

    def is_enabled(mapping):
        if next(calls) == 0:
            raise error
        return True

    return is_enabled


def test_an_error_while_checking_a_mapping_does_not_stop_polling():
    poller = RecordingPoller(fails_once(KeyError("_event_source_mappings")))  # as if moto renamed its state
    poller.entries["m"] = Mapping("m")
    poller.start()
    try:
        assert poller.polled.wait(timeout=10), "the poller's thread died with the error"
    finally:
        poller.shutdown()


def test_an_error_while_checking_a_mapping_counts_as_busy_rather_than_failing_quiesce():
    poller = RecordingPoller(fails_once(KeyError("_event_source_mappings")))
    poller.entries["m"] = Mapping("m")
    assert poller.busy() is True  # the state is unknown: not quiet
    poller.shutdown()
