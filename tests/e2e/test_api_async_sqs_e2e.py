"""api-async-sqs end to end: deploy into a fresh sandbox account, post through the local API Gateway, account for
every accepted request and every refusal, throttle the stage, destroy."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from awspatterns.targets.base import load_client

pytestmark = pytest.mark.e2e


# --8<-- [start:e2e]
def test_every_accepted_request_is_processed_once_or_parked_with_its_error(deploy_pattern):
    deployed = deploy_pattern("api-async-sqs")

    report = deployed.run_client(timeout=60)

    # Refused by API Gateway: a 400 that says why (415 for a body that is not JSON), and nothing queued.
    refused = report["refused"]
    assert {name: answer["status"] for name, answer in refused.items()} == {
        "malformed JSON": 400,
        "wrong shape": 400,
        "wrong type": 400,
        "missing field": 400,
        "unknown field": 400,
        "body over the limit": 400,
        "not JSON at all": 415,
    }
    assert refused["missing field"]["errors"] == '[object has missing required properties (["customer"])]'
    assert refused["malformed JSON"]["message"] == "Invalid request body"
    assert "65536" in refused["body over the limit"]["message"]
    assert report["queued_by_refusals"] == 0

    # N accepted = processed once + duplicates recognised + parked with their error; nothing missing.
    accepted, outcome = report["accepted"], report["outcome"]
    assert len(accepted) == 3 + 20 + 2 and outcome["missing"] == []
    parts = [set(outcome[part]) & set(accepted) for part in ("processed", "duplicates", "parked")]
    assert set().union(*parts) == set(accepted) and sum(map(len, parts)) == len(accepted)
    assert all(details["times_processed"] == 1 for details in outcome["processed"].values())
    assert len(parts[0]) == 22 and len(parts[1]) == 1
    parked = {accepted.get(m, "foreign"): details["error_type"] for m, details in outcome["parked"].items()}
    run = report["run"]
    assert parked == {
        f"{run}-3": "UnknownProduct",
        f"{run}-1": "IdempotencyValidationError",  # the same order id reused for different contents
        "foreign": "MalformedMessage",
    }
    table = deployed.session.resource("dynamodb").Table(deployed.flat_outputs["OrdersTable"])
    first = table.get_item(Key={"order_id": f"{run}-1"})["Item"]
    assert first["times_processed"] == 1 and len(first["duplicate_message_ids"]) == 1
    # API Gateway called SQS as its integration role, which sent to the queue and did nothing else.
    used = deployed.sandbox.permissions(deployed.session.account_id)
    [intake] = [calls for role, calls in used.items() if ":role/ApiAsyncSqs-IntakeRole" in role]
    assert {(c["action"], c["decision"]) for c in intake} == {("sqs:SendMessage", "allowed")}
    assert sum(c["count"] for c in intake) == len(accepted) + 1  # and the body over the limit, refused by SQS
    assert deployed.quiesce()
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_a_throttled_stage_answers_429_and_queues_only_what_it_accepted(deploy_pattern):
    deployed = deploy_pattern("api-async-sqs")
    outputs = deployed.flat_outputs
    url = outputs["OrdersUrl"]
    api_id, stage = url.split("/")[-3:-1]
    client = deployed.session.client("apigateway")
    client.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5"},
        ],
    )
    bodies = [
        json.dumps({"order_id": f"t-{n}", "customer": "Zed", "items": [{"sku": "PEN-10", "quantity": 1}]})
        for n in range(20)
    ]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda body: load_client(deployed.pattern).post(url, body), bodies))
    statuses = [status for status, _ in answers]
    assert set(statuses) == {202, 429} and 5 <= statuses.count(202) <= 7  # the burst, plus what 1/s refilled
    assert {json.dumps(a) for s, a in answers if s == 429} == {json.dumps({"message": "Too Many Requests"})}
    assert deployed.quiesce()
    processed = deployed.session.resource("dynamodb").Table(outputs["OrdersTable"]).scan()["Items"]
    assert len(processed) == statuses.count(202)
    assert deployed.destroy() == {}


def test_a_message_the_consumer_cannot_process_is_parked_not_retried_forever(deploy_pattern):
    deployed = deploy_pattern("api-async-sqs")
    outputs = deployed.flat_outputs
    sqs = deployed.session.client("sqs")
    for body in (
        "",
        "null",
        json.dumps({"order_id": "x"}),
        json.dumps({"order_id": "p-1", "customer": "A", "items": []}),
    ):
        sqs.send_message(QueueUrl=outputs["QueueUrl"], MessageBody=body or " ")
    assert deployed.quiesce()
    parked = []
    while batch := sqs.receive_message(
        QueueUrl=outputs["DlqUrl"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        parked += batch
        for message in batch:
            sqs.delete_message(QueueUrl=outputs["DlqUrl"], ReceiptHandle=message["ReceiptHandle"])
    assert len(parked) == 4
    assert {m["MessageAttributes"]["ErrorType"]["StringValue"] for m in parked} == {"MalformedMessage"}
    assert sqs.receive_message(QueueUrl=outputs["QueueUrl"]).get("Messages", []) == []
    assert deployed.session.resource("dynamodb").Table(outputs["OrdersTable"]).scan()["Items"] == []
    assert deployed.destroy() == {}


def test_a_small_benchmark_run_counts_every_request_and_every_processed_order(tmp_path):
    from awspatterns.bench.harness import BenchOptions, get_benchmark

    said: list[str] = []
    options = BenchOptions(requests=12, concurrency=3, out_dir=tmp_path, progress=said.append)
    results = json.loads(get_benchmark("api-async-sqs").run(options).read_text())
    by_name = {s["name"]: s for s in results["scenarios"]}
    assert by_name["accept"]["requests"] == 12 and by_name["accept"]["status_codes"] == {"202": 12}
    assert by_name["refuse"]["status_codes"] == {"400": 12}
    assert by_name["drain"]["status_codes"] == {"processed": 1} and by_name["drain"]["orders_processed"] == 12
    assert "accept: 12/12 requests" in said
    assert (tmp_path / "api-async-sqs.md").read_text().startswith("| Scenario |")
