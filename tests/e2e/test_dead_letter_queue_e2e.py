"""dead-letter-queue end to end: deploy into a fresh sandbox account, drive the whole story (failure, retries,
parking, alarm, fix, redrive, success), account for every order, destroy."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def queue_depth(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


# --8<-- [start:e2e]
def test_the_story_parks_every_failure_and_a_redrive_records_each_fixed_order_once(deploy_pattern):
    deployed = deploy_pattern("dead-letter-queue")

    report = deployed.run_client(timeout=30)

    sent = report["sent"]
    valid = {k for k, v in sent.items() if v["kind"] == "valid"}
    unaccepted = {k for k, v in sent.items() if v["kind"] == "not accepted yet"}
    malformed = {k for k, v in sent.items() if v["kind"] == "malformed"}
    first = report["first_pass"]
    assert set(first["recorded"]) == valid and set(first["parked"]) == unaccepted | malformed
    for order_id, parked in first["parked"].items():  # retried as Lambda does, then parked with the error
        assert (parked["attempts"], parked["condition"]) == (3, "RetriesExhausted"), order_id
        assert parked["error_type"] == ("UnsupportedCurrency" if order_id in unaccepted else "ValidationError")
    assert len({p["request_id"] for p in first["parked"].values()}) == 4
    assert set(report["classic"]["attributes"]) == {"RequestID", "ErrorCode", "ErrorMessage"}
    assert report["alarm"]["set_by_client"] and report["alarm"]["notification"]["NewStateValue"] == "ALARM"
    redrive = report["redrive"]
    assert (redrive["Status"], redrive["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 4)
    second = report["second_pass"]
    assert set(second["recorded"]) == unaccepted
    assert {k: v["replays"] for k, v in second["parked"].items()} == dict.fromkeys(malformed, 1)
    assert report["final"] == {"recorded": sorted(valid | unaccepted), "parked": sorted(malformed), "missing": []}

    outputs, sqs = deployed.flat_outputs, deployed.session.client("sqs")
    assert deployed.quiesce()
    items = deployed.session.resource("dynamodb").Table(outputs["OrdersTable"]).scan()["Items"]
    by_id = {item["order_id"]: item for item in items if item["order_id"] in sent}
    assert len(by_id) == 5  # each order once: the key is the order id, and replays found no duplicate
    assert {k for k, v in by_id.items() if v["recorded_by"] == "replay"} == unaccepted
    assert queue_depth(sqs, outputs["FailuresQueueUrl"]) == 2  # only the malformed ones, once each
    assert queue_depth(sqs, outputs["ReplayQueueUrl"]) == 0
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_a_poison_event_is_tried_three_times_and_each_redrive_replays_it_once(deploy_pattern):
    deployed = deploy_pattern("dead-letter-queue")
    outputs, session = deployed.flat_outputs, deployed.session
    sqs, logs = session.client("sqs"), session.client("logs")
    session.client("lambda").invoke(
        FunctionName=outputs["WorkerFunctionName"], InvocationType="Event", Payload=json.dumps({"order_id": 7})
    )
    assert deployed.quiesce()  # everything caused has happened: nothing retries forever

    def invocations(name_part):
        group = next(
            g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if name_part in g["logGroupName"]
        )
        return sum(e["message"].startswith("START ") for e in logs.filter_log_events(logGroupName=group)["events"])

    assert invocations("OrderWorkerLogs") == 3  # the first attempt and two retries, never more
    assert queue_depth(sqs, outputs["FailuresQueueUrl"]) == 1

    for redrive in (1, 2):  # a redrive before any fix: replayed once, parked again at once, counted
        sqs.start_message_move_task(SourceArn=outputs["FailuresQueueArn"], DestinationArn=outputs["ReplayQueueArn"])
        assert deployed.quiesce()
        [message] = sqs.receive_message(
            QueueUrl=outputs["FailuresQueueUrl"], MessageAttributeNames=["All"], VisibilityTimeout=0
        )["Messages"]
        assert message["MessageAttributes"]["ReplayCount"]["StringValue"] == str(redrive)
        assert json.loads(message["Body"])["requestPayload"] == {"order_id": 7}
        assert invocations("OrderWorkerReplayerLogs") == redrive
    assert queue_depth(sqs, outputs["ReplayQueueUrl"]) == 0
    assert deployed.destroy() == {}
