"""What the sandbox promises about delivery, as AWS does: nothing is lost silently. A failed event is retried and
then lands where AWS puts it (the queue's DLQ, the on-failure destination, the function's or the target's DLQ)
with what AWS says about the failure; and failing work never holds up healthy work."""

from __future__ import annotations

import inspect
import itertools
import json
import threading
from collections import Counter
from dataclasses import dataclass

from lambda_code import RECORDER, admit, create_function, drain, output_queue, queue_arn, table_with_stream
from moto.kinesis.models import kinesis_backends

from awspatterns.sandbox.deliveries.async_invoke import AsyncInvoker
from awspatterns.sandbox.deliveries.polling import MappingPoller
from awspatterns.sandbox.deliveries.streams import KinesisSource, StreamMapping

#: How many asynchronous invocations the sandbox runs at once.
ASYNC_WORKERS: int = inspect.signature(AsyncInvoker).parameters["workers"].default

ALWAYS_FAILS = """
def handler(event, context):
    raise RuntimeError("this function always fails")
"""

# Records each event in OUTPUT and returns.
RECORDS = """
import json, os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["OUTPUT"], MessageBody=json.dumps(event))
"""

# Records how many failure records had reached the queue named by FAILURES when it ran.
COUNTS_FAILURES = """
import json, os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    if event.get("warm-up"):
        return
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
    # Started beforehand, so that it counts the failure records the moment a worker takes its event: a cold start
    # on a loaded machine can outlast the retry waits (0.2 s, 0.4 s) and would measure the machine, not the workers.
    lambda_.invoke(FunctionName=healthy, Payload=json.dumps({"warm-up": True}).encode())
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


def test_a_failed_async_event_lands_in_the_functions_dead_letter_queue_with_the_error(account, quiesce):
    output = output_queue(account)
    dlq = output_queue(account, "function-dlq")
    function = create_function(
        account,
        "worker",
        RECORDER,
        environment={"OUTPUT": output},
        DeadLetterConfig={"TargetArn": queue_arn(account, dlq)},
    )
    account.client("lambda").put_function_event_invoke_config(FunctionName=function, MaximumRetryAttempts=1)
    account.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"fail": "please"}')
    assert quiesce()

    assert drain(account, output) == [{"fail": "please"}] * 2  # the attempt and one retry
    [dead] = account.client("sqs").receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(dead["Body"]) == {"fail": "please"}  # the event, unchanged
    attributes = dead["MessageAttributes"]
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"] == {"DataType": "String", "StringValue": "failing as asked"}
    assert attributes["RequestID"]["DataType"] == "String" and attributes["RequestID"]["StringValue"]


def test_a_failed_async_event_reaches_an_on_failure_destination_function_with_the_error(account, quiesce):
    output = output_queue(account)
    records = output_queue(account, "records")
    function = create_function(account, "worker", RECORDER, environment={"OUTPUT": output})
    destination = create_function(account, "on-failure", RECORDS, environment={"OUTPUT": records})
    account.client("lambda").put_function_event_invoke_config(
        FunctionName=function, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": destination}}
    )
    account.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"fail": 1}')
    assert quiesce()

    [record] = drain(account, records)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"fail": 1}
    assert record["responsePayload"]["errorMessage"] == "failing as asked"


# ------------------------------------------------------------------ SQS event sources
def source_queue(session, visibility, max_receive):
    sqs = session.client("sqs")
    dlq = sqs.create_queue(QueueName="source-dlq")["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(session, dlq), "maxReceiveCount": str(max_receive)}
    attributes = {"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)}
    url = sqs.create_queue(QueueName="source", Attributes=attributes)["QueueUrl"]
    return url, queue_arn(session, url), dlq


def dead_letters(session, url, count):
    """The bodies of ``count`` messages from a DLQ, waiting for them as long as a few visibility timeouts take
    (``quiesce`` does not wait for a message waiting out its visibility timeout)."""
    sqs, found = session.client("sqs"), []
    for _ in range(30):
        found += [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])]
        if len(found) >= count:
            break
    return sorted(found)


def messages_left(session, url):
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = session.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_a_batch_whose_handler_raises_is_retried_after_the_visibility_timeout_then_moved_to_the_dlq(account, quiesce):
    output = output_queue(account)
    url, arn, dlq = source_queue(account, visibility=1, max_receive=3)
    function = create_function(account, "consumer", RECORDER, environment={"OUTPUT": output})
    account.client("sqs").send_message(QueueUrl=url, MessageBody="crash")  # the handler raises for it
    account.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=1)

    assert dead_letters(account, dlq, 1) == ["crash"]
    assert quiesce()
    receives = [r["attributes"]["ApproximateReceiveCount"] for e in drain(account, output) for r in e["Records"]]
    assert receives == ["1", "2", "3"]  # retried after each visibility timeout, up to maxReceiveCount
    assert messages_left(account, url) == 0


def test_reported_item_failures_retry_only_the_failed_messages(account, quiesce):
    output = output_queue(account)
    # A visibility timeout longer than the batching window, as AWS advises: no message is received twice in one.
    url, arn, dlq = source_queue(account, visibility=2, max_receive=2)
    for body in ["ok-1", "fail-2", "ok-3", "fail-4"]:  # the handler reports "fail-" messages as failed
        account.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    function = create_function(account, "consumer", RECORDER, environment={"OUTPUT": output})
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=function,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    assert dead_letters(account, dlq, 2) == ["fail-2", "fail-4"]
    assert quiesce()
    deliveries = Counter(r["body"] for e in drain(account, output) for r in e["Records"])
    assert deliveries == {"ok-1": 1, "ok-3": 1, "fail-2": 2, "fail-4": 2}
    assert messages_left(account, url) == 0


# Records each batch in OUTPUT, then fails while the SSM parameter named by SWITCH says "fail".
SWITCHABLE = """
import json, os, boto3
sqs, ssm = boto3.client("sqs"), boto3.client("ssm")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["OUTPUT"], MessageBody=json.dumps(event))
    if ssm.get_parameter(Name=os.environ["SWITCH"])["Parameter"]["Value"] == "fail":
        raise RuntimeError("failing until switched")
    return {}
"""


def item_ids(batches):
    return [[r["dynamodb"]["Keys"]["id"]["S"] for r in batch["Records"]] for batch in batches]


# ------------------------------------------------------------------ stream event sources
def test_a_stream_mapping_disabled_while_its_batch_is_retried_keeps_the_records_for_when_it_is_enabled(
    account, quiesce
):
    output = output_queue(account)
    failures = output_queue(account, "stream-failures")
    ssm = account.client("ssm")
    ssm.put_parameter(Name="switch", Value="fail", Type="String")
    function = create_function(account, "switchable", SWITCHABLE, environment={"OUTPUT": output, "SWITCH": "switch"})
    dynamodb, stream_arn = table_with_stream(account)
    dynamodb.put_item(TableName="items", Item={"id": {"S": "a"}})
    lambda_ = account.client("lambda")
    mapping = lambda_.create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        DestinationConfig={"OnFailure": {"Destination": queue_arn(account, failures)}},
    )["UUID"]  # retries unbounded (the default): the failing record blocks the shard
    sqs = account.client("sqs")
    [attempt] = sqs.receive_message(QueueUrl=output, WaitTimeSeconds=10)["Messages"]  # failed at least once
    assert item_ids([json.loads(attempt["Body"])]) == [["a"]]

    lambda_.update_event_source_mapping(UUID=mapping, Enabled=False)
    assert quiesce()  # the retries stop with the mapping
    ssm.put_parameter(Name="switch", Value="succeed", Overwrite=True)
    drain(account, output)
    lambda_.update_event_source_mapping(UUID=mapping, Enabled=True)
    assert quiesce()

    assert item_ids(drain(account, output)) == [["a"]]  # resumed from the checkpoint, not past it
    assert drain(account, failures) == []


# Records the decoded data of each batch in OUTPUT; fails a batch holding "poison".
KINESIS_CONSUMER = """
import base64, json, os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    data = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    sqs.send_message(QueueUrl=os.environ["OUTPUT"], MessageBody=json.dumps(data))
    if "poison" in data:
        raise ValueError("poison record")
"""


def kinesis_mapping(session, data, **settings):
    """A one-shard stream holding ``data``, mapped to KINESIS_CONSUMER; returns output, failures, stream ARN and
    the records' sequence numbers."""
    output = output_queue(session)
    failures = output_queue(session, "stream-failures")
    kinesis = session.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    sequences = [
        kinesis.put_record(StreamName="clicks", Data=item.encode(), PartitionKey="k")["SequenceNumber"] for item in data
    ]
    function = create_function(session, "kinesis-consumer", KINESIS_CONSUMER, environment={"OUTPUT": output})
    session.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        DestinationConfig={"OnFailure": {"Destination": queue_arn(session, failures)}},
        **settings,
    )
    return output, failures, stream_arn, sequences


def test_a_failing_stream_batch_is_retried_then_reported_with_its_metadata_and_the_shard_moves_on(account, quiesce):
    output, failures, stream_arn, sequences = kinesis_mapping(
        account, ["poison", "after"], BatchSize=1, MaximumRetryAttempts=2
    )
    assert quiesce()

    assert drain(account, output) == [["poison"]] * 3 + [["after"]]  # the attempt, two retries, then the next
    [report] = drain(account, failures)
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert report["requestContext"]["approximateInvokeCount"] == 3
    assert report["responseContext"]["functionError"] == "Unhandled"
    info = report["KinesisBatchInfo"]
    assert info["shardId"] == "shardId-000000000000" and info["streamArn"] == stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequences[0]
    assert info["batchSize"] == 1
    assert info["approximateArrivalOfFirstRecord"] and info["approximateArrivalOfLastRecord"]


def test_bisection_isolates_the_failing_record_and_delivers_the_others(account, quiesce):
    output, failures, _, sequences = kinesis_mapping(
        account,
        ["a", "b", "poison", "d"],
        BatchSize=4,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
    )
    assert quiesce()

    batches = drain(account, output)
    assert batches[0] == ["a", "b", "poison", "d"]
    delivered = Counter(item for batch in batches if "poison" not in batch for item in batch)
    assert delivered == {"a": 1, "b": 1, "d": 1}
    [report] = drain(account, failures)
    info = report["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"] == sequences[2]


def test_kinesis_reads_start_at_the_checkpoint_while_moto_writes_to_the_shard():
    account = "000000000017"
    stream = kinesis_backends[account]["us-east-1"].create_stream("clicks", shard_count=1)
    [shard] = stream.shards.values()
    for n in range(2000):
        shard.put_record("key", f"{n}", "1")
    source = KinesisSource(StreamMapping(account, "us-east-1", "mapping", stream.arn, "function"))
    assert [r.sequence for r in source.read(shard.shard_id, after=1995, limit=10)] == [1996, 1997, 1998, 1999, 2000]
    assert [r.sequence for r in source.read(shard.shard_id, after=-1, limit=2)] == [1, 2]

    writing = threading.Event()

    def write():
        writing.set()
        for n in range(8000):
            shard.put_record("key", f"{n}", "1")

    writer = threading.Thread(target=write)
    writer.start()
    writing.wait()
    checkpoint = 0
    while writer.is_alive() or checkpoint < 10000:
        batch = source.read(shard.shard_id, after=checkpoint, limit=500)  # raised while moto wrote, before
        assert [r.sequence for r in batch] == list(range(checkpoint + 1, checkpoint + 1 + len(batch)))
        checkpoint += len(batch)
    writer.join()
    assert checkpoint == 10000


# ------------------------------------------------------------------ SNS, S3 and EventBridge
def test_sns_delivers_every_message_to_a_queue_subscription(account, quiesce):
    queue = output_queue(account, "subscriber")
    sns = account.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    admit(account, queue, "sns", topic)  # AWS delivers only to queues whose policy admits the topic
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(account, queue), Attributes={"RawMessageDelivery": "true"}
    )
    for n in range(5):
        sns.publish(TopicArn=topic, Message=json.dumps({"n": n}))
    assert quiesce()
    assert sorted(m["n"] for m in drain(account, queue)) == list(range(5))


def test_a_failing_sns_subscriber_is_retried_then_its_event_reaches_the_on_failure_destination(account, quiesce):
    output = output_queue(account)
    failures = output_queue(account, "failures")
    function = create_function(account, "subscriber", RECORDER, environment={"OUTPUT": output})
    account.client("lambda").put_function_event_invoke_config(
        FunctionName=function,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(account, failures)}},
    )
    sns = account.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    admit(account, function, "sns", topic)  # AWS invokes only functions whose policy admits the topic
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)
    sns.publish(TopicArn=topic, Message="fail")  # the handler raises for it
    assert quiesce()

    assert len(drain(account, output)) == 2
    [record] = drain(account, failures)
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "fail"
    assert record["requestPayload"]["Records"][0]["Sns"]["TopicArn"] == topic


def test_a_failing_s3_notified_function_is_retried_then_its_event_reaches_the_on_failure_destination(account, quiesce):
    output = output_queue(account)
    failures = output_queue(account, "failures")
    function = create_function(account, "on-upload", RECORDER, environment={"OUTPUT": output})
    account.client("lambda").put_function_event_invoke_config(
        FunctionName=function,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(account, failures)}},
    )
    s3 = account.client("s3")
    bucket = f"uploads-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    admit(account, function, "s3", f"arn:aws:s3:::{bucket}")  # AWS validates that the function admits S3
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": function, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket=bucket, Key="fail.txt", Body=b"x")  # the handler raises for it
    assert quiesce()

    assert len(drain(account, output)) == 2  # S3 invokes asynchronously: the attempt and one retry
    [record] = drain(account, failures)
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "fail.txt"
    assert record["responsePayload"]["errorMessage"] == "failing as asked"


def test_eventbridge_sends_what_a_target_cannot_take_to_the_targets_dlq_with_the_reason(account, quiesce):
    dlq = output_queue(account, "rule-dlq")
    missing_function = f"arn:aws:lambda:us-east-1:{account.account_id}:function:deleted"
    missing_queue = f"arn:aws:sqs:us-east-1:{account.account_id}:deleted"
    events = account.client("events")
    rule_arn = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["orders"]}))["RuleArn"]
    admit(account, dlq, "events", rule_arn)  # AWS sends to a DLQ whose policy admits the rule
    events.put_targets(
        Rule="orders",
        Targets=[
            {"Id": "fn", "Arn": missing_function, "DeadLetterConfig": {"Arn": queue_arn(account, dlq)}},
            {"Id": "queue", "Arn": missing_queue, "DeadLetterConfig": {"Arn": queue_arn(account, dlq)}},
        ],
    )
    answer = events.put_events(Entries=[{"Source": "orders", "DetailType": "Order Placed", "Detail": "{}"}])
    assert quiesce()

    messages = account.client("sqs").receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    dead = {m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: m for m in messages["Messages"]}
    assert set(dead) == {missing_function, missing_queue}
    for message in dead.values():
        assert json.loads(message["Body"])["id"] == answer["Entries"][0]["EventId"]
        assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "RESOURCE_NOT_FOUND"
        assert message["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
        assert message["MessageAttributes"]["RULE_ARN"]["StringValue"].endswith(":rule/orders")


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
