"""event-pipeline end to end: deploy into a fresh sandbox account, make Firehose fail a share of the emitters'
records, drive the client, account for every event (delivered once, or parked with its reason), destroy."""

from __future__ import annotations

import gzip
import json
import re

import pytest

pytestmark = pytest.mark.e2e

PARTITION = re.compile(r"^events/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/EventPipeline-[^/]+\.gz$")


# --8<-- [start:e2e]
def test_every_event_from_every_emitter_lands_once_or_is_parked_with_its_reason(deploy_pattern):
    deployed = deploy_pattern("event-pipeline")
    outputs = deployed.flat_outputs
    # Firehose throttles for real under load; the sandbox does on request: every fifth record put fails.
    deployed.session.client("firehose").tag_delivery_stream(
        DeliveryStreamName=outputs["StreamName"], Tags=[{"Key": "sandbox:put-failure-rate", "Value": "0.2"}]
    )

    report = deployed.run_client(timeout=60, settle=deployed.quiesce)

    for name in ("orders", "payments"):  # the emitters resent exactly what Firehose reported failed
        stats = report["emitters"][name]
        sent = report["sent"][name]["valid"] + report["sent"][name]["malformed"]
        assert stats["accepted"] == sent and stats["resent"] > 0 and stats["calls"] > 1, name
    final = report["final"]
    assert final["missing"] == [] and final["duplicated"] == []
    assert final["sent"] == len(final["delivered_once"]) + len(final["parked"]) == 110
    sources = {rows[0]["source"]: rows[0]["channel"] for rows in report["delivered"].values()}
    assert sources == {"orders": "direct", "payments": "direct", "audit": "logs"}  # every emitter arrived
    assert {k.split("-")[1] for k in final["parked"]} == {"orders", "payments"} and len(final["parked"]) == 3
    reasons = {k.split("-", 1)[1]: v["reason"] for k, v in report["parked"].items()}
    assert "Invalid JSON" in reasons["orders-7"]
    assert "occurred_at: Field required" in reasons["orders-13"]
    assert "timezone" in reasons["payments-5"]
    assert {v["error_code"] for v in report["parked"].values()} == {"Lambda.ProcessingFailed"}
    assert all(v["key"].startswith("errors/processing-failed/year=") for v in report["parked"].values())
    assert all(PARTITION.match(rows[0]["key"]) for rows in report["delivered"].values())
    assert report["table"]["partitions"] == ["year", "month", "day", "hour"]
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_a_failed_write_to_the_bucket_is_retried_until_it_succeeds_not_dropped(deploy_pattern):
    deployed = deploy_pattern("event-pipeline")
    outputs, session = deployed.flat_outputs, deployed.session
    iam, s3 = session.client("iam"), session.client("s3")
    [role] = [r["RoleName"] for r in iam.list_roles()["Roles"] if "PipelineDeliveryRole" in r["RoleName"]]
    [name] = [n for n in iam.list_role_policies(RoleName=role)["PolicyNames"] if "DeliveryPolicy" in n]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    broken = {**document, "Statement": [st for st in document["Statement"] if "s3:PutObject" not in st["Action"]]}
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(broken))  # may invoke, not write
    event = {"event_id": "late-1", "source": "orders", "type": "order.placed", "occurred_at": "2026-12-01T10:00:00Z"}
    session.client("firehose").put_record(
        DeliveryStreamName=outputs["StreamName"], Record={"Data": json.dumps(event).encode()}
    )
    assert deployed.quiesce()
    assert s3.list_objects_v2(Bucket=outputs["LakeBucket"]).get("KeyCount", 0) == 0  # not written ...

    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))  # the fix
    assert deployed.quiesce()
    [item] = s3.list_objects_v2(Bucket=outputs["LakeBucket"])["Contents"]  # ... nor lost: written once, now
    assert PARTITION.match(item["Key"])
    body = gzip.decompress(s3.get_object(Bucket=outputs["LakeBucket"], Key=item["Key"])["Body"].read())
    assert [json.loads(line)["event_id"] for line in body.decode().splitlines()] == ["late-1"]
    assert deployed.destroy() == {}
