"""Conformance of the sandbox's trigger semantics with the documented AWS behaviour."""

from __future__ import annotations

import json
import time

from lambda_code import RECORDER, admit, create_function, drain, output_queue, queue_arn


def source_queue(session, visibility=1, max_receive=2):
    sqs = session.client("sqs")
    dlq = sqs.create_queue(QueueName="source-dlq")["QueueUrl"]
    dlq_arn = queue_arn(session, dlq)
    url = sqs.create_queue(
        QueueName="source",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}),
        },
    )["QueueUrl"]
    arn = queue_arn(session, url)
    return url, arn, dlq


def test_sqs_event_source_batches_and_deletes_only_successful_records(account, quiesce):
    output = output_queue(account)
    url, arn, dlq = source_queue(account, visibility=1, max_receive=2)
    sqs = account.client("sqs")
    for body in ["ok-1", "fail-2", "ok-3", "ok-4"]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    function = create_function(account, "consumer", RECORDER, environment={"OUTPUT": output})
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=function,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    deadline = time.monotonic() + 20
    dead: list[str] = []
    while not dead and time.monotonic() < deadline:
        time.sleep(0.5)
        dead = [m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])]
    assert dead == ["fail-2"]  # retried after the visibility timeout, then moved after 2 receives
    assert quiesce()
    batches = [[r["body"] for r in event["Records"]] for event in drain(account, output)]
    assert sorted(batches[0]) == ["fail-2", "ok-1", "ok-3", "ok-4"]  # one batch of all four
    assert all(b == ["fail-2"] for b in batches[1:])  # only the failed record came back
    first = next(e for e in drain(account, output) or [{"Records": []}])  # nothing else was delivered
    assert first == {"Records": []}
    assert (
        int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
        == 0
    )


def test_sqs_record_carries_lambda_fields(account, quiesce):
    output = output_queue(account)
    url, arn, _ = source_queue(account)
    function = create_function(account, "consumer", RECORDER, environment={"OUTPUT": output})
    account.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=5)
    account.client("sqs").send_message(
        QueueUrl=url, MessageBody="hello", MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}}
    )
    time.sleep(0.5)
    assert quiesce()
    record = drain(account, output, wait=1)[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {"dataType": "String", "stringValue": "greeting"}
    assert record["md5OfBody"] == "5d41402abc4b2a76b9719d911017c592"


def test_an_invalid_batch_response_fails_the_whole_batch(account, quiesce):
    output = output_queue(account)
    url, arn, dlq = source_queue(account, visibility=1, max_receive=1)
    function = create_function(account, "consumer", RECORDER, environment={"OUTPUT": output, "BAD_RESPONSE": "1"})
    account.client("sqs").send_message(QueueUrl=url, MessageBody="ok")
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.5)
        moved = account.client("sqs").receive_message(QueueUrl=dlq).get("Messages", [])
        if moved:
            break
    assert [m["Body"] for m in moved] == ["ok"]


def test_async_invoke_returns_202_then_retries_and_sends_the_failure_to_its_destination(account, quiesce):
    output = output_queue(account)
    failures = output_queue(account, "failures")
    failures_arn = queue_arn(account, failures)
    function = create_function(account, "worker", RECORDER, environment={"OUTPUT": output})
    lambda_ = account.client("lambda")
    lambda_.put_function_event_invoke_config(
        FunctionName=function, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": failures_arn}}
    )
    began = time.monotonic()
    response = lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=b'{"fail": true}')
    assert response["StatusCode"] == 202 and time.monotonic() - began < 1
    assert quiesce()
    assert len(drain(account, output)) == 2  # the first attempt and one retry
    [record] = drain(account, failures)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"fail": True}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "failing as asked"


def test_async_invoke_success_goes_to_the_success_destination(account, quiesce):
    output = output_queue(account)
    successes = output_queue(account, "successes")
    arn = queue_arn(account, successes)
    function = create_function(account, "worker", RECORDER, environment={"OUTPUT": output})
    account.client("lambda").put_function_event_invoke_config(
        FunctionName=function, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    account.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"n": 1}')
    assert quiesce()
    [record] = drain(account, successes)
    assert record["requestContext"]["condition"] == "Success" and record["responsePayload"] == {"ok": True}


def test_async_failures_without_a_destination_go_to_the_dead_letter_queue(account, quiesce):
    output = output_queue(account)
    dlq = output_queue(account, "function-dlq")
    dlq_arn = queue_arn(account, dlq)
    function = create_function(
        account, "worker", RECORDER, environment={"OUTPUT": output}, DeadLetterConfig={"TargetArn": dlq_arn}
    )
    account.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"fail": 1}')
    assert quiesce()
    assert drain(account, dlq) == [{"fail": 1}]
    assert len(drain(account, output)) == 3  # default: two retries


def test_sns_invokes_lambda_asynchronously_with_the_real_topic_subject_and_attributes(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "subscriber", RECORDER, environment={"OUTPUT": output})
    sns = account.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    admit(account, function, "sns", topic)  # AWS invokes only functions whose policy admits the topic
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)["SubscriptionArn"]
    sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="greeting",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )
    assert quiesce()
    [event] = drain(account, output)
    record = event["Records"][0]
    assert record["EventSubscriptionArn"] == subscription
    assert record["Sns"]["TopicArn"] == topic and record["Sns"]["Subject"] == "greeting"
    assert record["Sns"]["Message"] == "hello"
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "test"}}


def test_s3_events_carry_sequencer_and_version_id(account, quiesce):
    sqs = account.client("sqs")
    url = sqs.create_queue(QueueName="object-events")["QueueUrl"]
    arn = queue_arn(account, url)
    s3 = account.client("s3")
    s3.create_bucket(Bucket=f"bucket-{account.account_id}")
    bucket = f"bucket-{account.account_id}"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    admit(account, url, "s3", f"arn:aws:s3:::{bucket}")  # AWS validates that the queue admits S3 for the bucket
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    drain(account, url)  # the s3:TestEvent
    first = s3.put_object(Bucket=bucket, Key="a key", Body=b"1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="a key", Body=b"2")
    objects = [e["Records"][0]["s3"]["object"] for e in drain(account, url)]
    assert objects[0]["key"] == "a+key" and objects[0]["versionId"] == first
    assert objects[0]["sequencer"] < objects[1]["sequencer"]  # hex strings of equal length order events
