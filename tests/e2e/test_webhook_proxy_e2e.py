"""webhook-proxy end to end: deploy into a fresh sandbox account, post signed, forged, stale, replayed and oversized
deliveries as the provider would, rotate the secret, account for every delivery per stage, destroy."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from awspatterns.catalog import get_pattern
from awspatterns.targets.base import load_client

pytestmark = pytest.mark.e2e

STAGES = {"dev", "test", "staging"}


def processed_log_lines(session) -> Counter[tuple[str, str]]:
    """(stage, delivery id) of every "processed" line the consumers logged: how often each stage processed each."""
    logs = session.client("logs")
    seen: Counter[tuple[str, str]] = Counter()
    for group in logs.describe_log_groups()["logGroups"]:
        name = group["logGroupName"]
        stage = next((s for s in STAGES if f"{s.title()}Consumer" in name), None)
        if stage is None:
            continue
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=name):
            for entry in page["events"]:
                if entry["message"].startswith("{"):
                    line = json.loads(entry["message"])
                    if line.get("message") == "processed":
                        seen[(stage, line["delivery_id"])] += 1
    return seen


def queue_messages(sqs, url):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])


# --8<-- [start:e2e]
def test_each_stage_processes_exactly_its_deliveries_once_and_refused_ones_are_stored_nowhere(deploy_pattern):
    deployed = deploy_pattern("webhook-proxy")

    report = deployed.run_client(timeout=60)

    by_name = {d["name"]: d for d in report["sent"]}
    refused = {name: d["status"] for name, d in by_name.items() if d["status"] != 200}
    assert refused == {
        "forged": 401,
        "unsigned": 400,  # API Gateway's request validator: the header is required
        "stale (10 min old)": 401,
        "replayed": 409,
        "tampered body": 401,
        "one byte over": 413,
    }
    assert "at most 262144" in by_name["one byte over"]["answer"]["message"]
    assert by_name["at the size limit"]["bytes"] == 262144
    stored = {name: d for name, d in by_name.items() if d["status"] == 200}
    assert {name: d["stage"] for name, d in stored.items()} == {
        "for dev": "dev",
        "for test": "test",
        "for staging": "staging",
        "without a stage": "dev",  # the default stage
        "malformed, for test": "test",
        "for test, after it": "test",
        "at the size limit": "staging",
        "rotation: both secrets": "staging",
        "rotation: new secret": "staging",
        "rotation: old secret (overlap)": "staging",
    }
    assert by_name["malformed, for test"]["parked_by"] == "test" and not by_name["malformed, for test"]["processed_by"]
    for name, delivery in stored.items():
        if name != "malformed, for test":
            assert delivery["processed_by"] == delivery["stage"], name

    session, outputs = deployed.session, deployed.flat_outputs
    assert deployed.quiesce()
    items = session.resource("dynamodb").Table(outputs["TableName"]).scan()["Items"]
    assert len(items) == len(stored)  # nothing refused was stored
    ids = {d["answer"]["received"]: d for d in stored.values()}
    assert processed_log_lines(session) == Counter(
        {(d["stage"], key): 1 for key, d in ids.items() if d["name"] != "malformed, for test"}
    )  # each stage saw exactly its deliveries, each once
    sqs = session.client("sqs")
    [parked] = queue_messages(sqs, outputs["TestFailuresQueueUrl"])
    info = json.loads(parked["Body"])["DDBStreamBatchInfo"]  # the batch's position, as Lambda sends it
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert json.loads(parked["Body"])["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert queue_messages(sqs, outputs["DevFailuresQueueUrl"]) == []
    assert queue_messages(sqs, outputs["StagingFailuresQueueUrl"]) == []
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_a_failing_stage_parks_its_batches_while_the_other_stages_go_on(deploy_pattern):
    client = load_client(get_pattern("webhook-proxy"))
    event, post, signature_header = client.event, client.post, client.signature_header
    deployed = deploy_pattern("webhook-proxy")
    session, outputs = deployed.session, deployed.flat_outputs
    secret = session.client("secretsmanager").get_secret_value(SecretId=outputs["SecretArn"])["SecretString"]
    lambda_ = session.client("lambda")
    broken = lambda_.get_function_configuration(FunctionName=outputs["TestConsumerName"])["Environment"]["Variables"]
    lambda_.update_function_configuration(  # the test stage's consumer breaks: every write it makes fails
        FunctionName=outputs["TestConsumerName"], Environment={"Variables": {**broken, "TABLE_NAME": "no-such-table"}}
    )

    answers = {}
    for index in range(4):
        for stage in ("test", "dev", "staging"):
            body = json.dumps(event("broken", f"{stage}-{index}", stage)).encode()
            status, answer = post(outputs["WebhookUrl"], body, {"Webhook-Signature": signature_header(body, [secret])})
            assert status == 200
            answers[answer["received"]] = stage
    assert deployed.quiesce(timeout_s=60)

    table = session.resource("dynamodb").Table(outputs["TableName"])
    processed = {key: table.get_item(Key={"delivery_id": key})["Item"].get("processed_by") for key in answers}
    assert {k: v for k, v in processed.items() if v} == {k: s for k, s in answers.items() if s != "test"}
    sqs = session.client("sqs")
    parked = [json.loads(m["Body"]) for m in queue_messages(sqs, outputs["TestFailuresQueueUrl"])]
    assert sum(p["DDBStreamBatchInfo"]["batchSize"] for p in parked) == 4  # every test delivery, by its position
    assert {p["requestContext"]["condition"] for p in parked} == {"RetryAttemptsExhausted"}
    assert deployed.destroy() == {}
