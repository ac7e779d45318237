"""s3-single-subscription end to end: deploy into a fresh sandbox account, drive the client, account for every
upload and every poison message, destroy."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


# --8<-- [start:e2e]
def test_every_upload_is_recorded_once_or_parked_with_its_error(deploy_pattern):
    deployed = deploy_pattern("s3-single-subscription")

    report = deployed.run_client(timeout=30)

    table = deployed.session.resource("dynamodb").Table(deployed.flat_outputs["RecordsTable"])
    for variant, outcome in report["variants"].items():
        uploaded = set(outcome["uploaded"])
        assert len(uploaded) == 4 and outcome["missing"] == [], variant
        assert set(outcome["recorded"]) | set(outcome["parked"]) == uploaded  # N in = recorded + parked
        assert not set(outcome["recorded"]) & set(outcome["parked"])
        assert {key.rsplit("/", 1)[-1] for key in outcome["parked"]} == {"broken.json"}
        for key, item in outcome["recorded"].items():
            assert item["consumer"] == variant
            assert (
                len(
                    table.query(KeyConditionExpression="object_key = :k", ExpressionAttributeValues={":k": key})[
                        "Items"
                    ]
                )
                == 1
            )  # recorded once
    [queued] = report["variants"]["queued"]["parked"].values()
    assert queued["error_type"] == "InvalidDocument" and "total" in queued["error"]
    assert queued["receives"] == 1  # parked on its first delivery: no retry can fix it
    [direct] = report["variants"]["direct"]["parked"].values()
    assert direct["error_type"] == "InvalidDocument"
    assert (direct["attempts"], direct["condition"]) == (3, "RetriesExhausted")  # the first attempt and two retries
    assert deployed.quiesce()
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_poison_messages_on_either_path_are_parked_never_looped_or_dropped(deploy_pattern):
    deployed = deploy_pattern("s3-single-subscription")
    outputs = deployed.flat_outputs
    sqs = deployed.session.client("sqs")
    sqs.send_message(QueueUrl=outputs["QueueUrl"], MessageBody="{not an S3 event")
    deployed.session.client("lambda").invoke(
        FunctionName=outputs["DirectFunctionName"], InvocationType="Event", Payload=json.dumps({"Records": "nope"})
    )
    assert deployed.quiesce()  # everything caused has happened: nothing is retrying in a loop

    def drain(url):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    [parked] = drain(outputs["QueueDlqUrl"])  # the S3 test event sent at deployment was consumed, not parked
    assert parked["Body"] == "{not an S3 event"
    assert parked["MessageAttributes"]["ErrorType"]["StringValue"] == "MalformedEvent"
    assert drain(outputs["QueueUrl"]) == []
    [failure] = drain(outputs["DirectFailuresQueueUrl"])
    record = json.loads(failure["Body"])
    assert record["requestPayload"] == {"Records": "nope"}
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] in {"ValidationError", "InvalidModelTypeError"}
    assert deployed.session.resource("dynamodb").Table(outputs["RecordsTable"]).scan()["Items"] == []
    assert deployed.destroy() == {}
