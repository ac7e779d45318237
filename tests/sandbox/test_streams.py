"""Stream and queue event sources against Lambda's documented behaviour: FilterCriteria, batching, checkpoints
with ReportBatchItemFailures, bounded retries, bisection and on-failure destinations."""

from __future__ import annotations

import base64
import json

from lambda_code import create_function, drain, output_queue, queue_arn
from lambda_code import table_with_stream as shared_table_with_stream

# Records each batch in OUTPUT; fails a batch holding a "poison" item; reports "partial" items as failures.
STREAM_HANDLER = """
import json, os, boto3
sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["OUTPUT"], MessageBody=json.dumps(event))
    text = json.dumps(event)
    if "poison" in text:
        raise ValueError("poison record")
    failures = []
    for record in event["Records"]:
        image = record.get("dynamodb", {}).get("NewImage", {})
        if image.get("note", {}).get("S") == "partial" and not os.environ.get("SEEN_" + record["eventID"]):
            os.environ["SEEN_" + record["eventID"]] = "1"  # fail once, then succeed (same warm environment)
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}
"""


def table_with_stream(session, name="webhooks"):
    return shared_table_with_stream(session, name, "NEW_AND_OLD_IMAGES")


def records(batches):
    return [r for batch in batches for r in batch["Records"]]


def test_dynamodb_stream_records_are_filtered_batched_and_shaped_like_lambdas(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "dev-consumer", STREAM_HANDLER, environment={"OUTPUT": output})
    dynamodb, stream_arn = table_with_stream(account)
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"dynamodb": {"NewImage": {"stage": {"S": ["dev"]}}}})}]},
    )
    for index, stage in enumerate(["dev", "prod", "dev", "staging", "dev"]):
        dynamodb.put_item(TableName="webhooks", Item={"id": {"S": f"w{index}"}, "stage": {"S": stage}})
    assert quiesce()

    batches = drain(account, output)
    delivered = records(batches)
    assert [r["dynamodb"]["NewImage"]["id"]["S"] for r in delivered] == ["w0", "w2", "w4"]
    assert len(batches) == 1  # the batching window gathered them
    first = delivered[0]
    assert first["eventName"] == "INSERT" and first["eventSource"] == "aws:dynamodb"
    assert first["eventSourceARN"] == stream_arn and first["awsRegion"] == "us-east-1"
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
    assert first["dynamodb"]["Keys"] == {"id": {"S": "w0"}}


def test_latest_skips_records_written_before_the_mapping(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "latest", STREAM_HANDLER, environment={"OUTPUT": output})
    dynamodb, stream_arn = table_with_stream(account)
    dynamodb.put_item(TableName="webhooks", Item={"id": {"S": "old"}})
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function, StartingPosition="LATEST"
    )
    dynamodb.put_item(TableName="webhooks", Item={"id": {"S": "new"}})
    assert quiesce()
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records(drain(account, output))] == ["new"]


def test_a_poison_record_is_isolated_by_bisection_and_reported_after_bounded_retries(account, quiesce):
    output = output_queue(account)
    failures = output_queue(account, "stream-failures")
    function = create_function(account, "bisecting", STREAM_HANDLER, environment={"OUTPUT": output})
    dynamodb, stream_arn = table_with_stream(account)
    for item in ["a", "b", "poison", "d"]:
        dynamodb.put_item(TableName="webhooks", Item={"id": {"S": item}})
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(account, failures)}},
    )
    assert quiesce()

    succeeded = set()
    for batch in drain(account, output):
        ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in batch["Records"]]
        if "poison" not in ids:
            succeeded.update(ids)
    assert succeeded == {"a", "b", "d"}
    [report] = drain(account, failures)
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert report["requestContext"]["approximateInvokeCount"] == 2  # the first attempt and one retry
    assert report["responseContext"]["functionError"] == "Unhandled"
    info = report["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_reported_item_failures_resume_the_shard_from_the_failed_record(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "partial", STREAM_HANDLER, environment={"OUTPUT": output})
    dynamodb, stream_arn = table_with_stream(account)
    for item, note in [("a", "ok"), ("b", "partial"), ("c", "ok")]:
        dynamodb.put_item(TableName="webhooks", Item={"id": {"S": item}, "note": {"S": note}})
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert quiesce()
    batches = [[r["dynamodb"]["Keys"]["id"]["S"] for r in b["Records"]] for b in drain(account, output)]
    assert batches == [["a", "b", "c"], ["b", "c"]]  # "a" was checkpointed; the retry starts at "b"


def test_kinesis_records_filter_on_decoded_json_data(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "kinesis-consumer", STREAM_HANDLER, environment={"OUTPUT": output})
    kinesis = account.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["buy"]}})}]},
    )
    for kind in ["view", "buy", "view"]:
        kinesis.put_record(StreamName="clicks", Data=json.dumps({"kind": kind}).encode(), PartitionKey="user-1")
    assert quiesce()
    [record] = records(drain(account, output))
    assert json.loads(base64.b64decode(record["kinesis"]["data"])) == {"kind": "buy"}
    assert record["eventSource"] == "aws:kinesis" and record["kinesis"]["partitionKey"] == "user-1"
    assert record["eventID"].startswith("shardId-000000000000:")


def test_sqs_filter_criteria_drop_and_delete_non_matching_messages(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "sqs-filtered", STREAM_HANDLER, environment={"OUTPUT": output})
    sqs = account.client("sqs")
    source = sqs.create_queue(QueueName="orders")["QueueUrl"]
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn(account, source),
        FunctionName=function,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"priority": ["high"]}})}]},
    )
    for body in [{"priority": "low"}, {"priority": "high"}, "not json"]:
        sqs.send_message(QueueUrl=source, MessageBody=json.dumps(body) if isinstance(body, dict) else body)
    assert quiesce()
    assert [json.loads(r["body"]) for r in records(drain(account, output))] == [{"priority": "high"}]
    attributes = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["All"])["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )
