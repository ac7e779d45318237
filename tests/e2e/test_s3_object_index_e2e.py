"""s3-object-index end to end: deploy into a fresh sandbox account, drive the client, account for every upload,
check that the removed user is in no object version and no index entry, destroy."""

from __future__ import annotations

import json

import pytest

from awspatterns.targets.base import load_client

pytestmark = pytest.mark.e2e


# --8<-- [start:e2e]
def test_every_upload_is_indexed_or_unindexable_and_a_removal_leaves_nothing_of_the_user(deploy_pattern):
    deployed = deploy_pattern("s3-object-index")

    report = deployed.run_client(timeout=60)

    entries = report["entries"]
    assert set(entries) == set(report["uploaded"])  # 9 in = 6 indexed + 3 unindexable; none missing
    unindexable = {k.rsplit("/", 1)[-1]: e["reason"] for k, e in entries.items() if e["status"] == "unindexable"}
    assert set(unindexable) == {"broken-not-json.jsonl", "broken-truncated.jsonl.gz", "broken-no-user.jsonl"}
    assert "not JSON" in unindexable["broken-not-json.jsonl"]
    assert "truncated gzip" in unindexable["broken-truncated.jsonl.gz"]
    assert "user_id" in unindexable["broken-no-user.jsonl"]
    assert report["parked"] == 0  # no event was lost to the DLQ either
    assert set(report["restored"]) == set(report["forgotten"]) and report["backfill"]["status"] == "completed"
    assert report["backfill"]["indexed"] == 2  # the forgotten two, and nothing the indexer had done already
    assert [k.rsplit("/", 1)[-1] for k in report["held_before"]] == [
        "day-1.jsonl",
        "day-2.jsonl.gz",
        "day-4.jsonl.gz",
        "day-6.jsonl.gz",
    ]
    removal = report["removal"]
    assert removal["status"] == "needs-attention"  # done, but three objects could not be read: a person looks
    assert removal["records_removed"] == 12 and removal["objects"] == 4
    assert report["held_after"] == [] and report["versions_with_subject"] == []
    text = load_client(deployed.pattern).format_report(report)  # what `patterns run` prints
    assert "9 uploaded = 6 indexed + 3 unindexable; 0 missing; 0 event(s) parked" in text
    assert "afterwards: 0 index entries and 0 object versions hold bob's records" in text
    assert deployed.quiesce()
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_a_removal_is_recorded_for_audit_and_a_rerun_changes_nothing(deploy_pattern):
    deployed = deploy_pattern("s3-object-index")
    outputs = deployed.flat_outputs
    s3 = deployed.session.client("s3")
    bucket = outputs["BucketName"]
    body = b'{"user_id": "erin", "ts": "2026-11-01T00:00:00Z"}\n{"user_id": "frank", "ts": "2026-11-01T00:00:01Z"}\n'
    s3.put_object(Bucket=bucket, Key="events/one.jsonl", Body=body)
    s3.put_object(Bucket=bucket, Key="events/one.jsonl", Body=body)  # a second version, erin in both
    assert deployed.quiesce()
    invoke = deployed.session.client("lambda").invoke
    request = json.dumps({"user_id": "erin", "request_id": "gdpr-42"}).encode()

    first = json.loads(invoke(FunctionName=outputs["RemovalFunctionName"], Payload=request)["Payload"].read())
    assert deployed.quiesce()  # the indexer has seen the new version and the deleted ones
    again = json.loads(invoke(FunctionName=outputs["RemovalFunctionName"], Payload=request)["Payload"].read())

    assert (first["status"], first["records_removed"], first["versions_deleted"]) == ("completed", 1, 2)
    assert again == first  # a completed request only reports
    [version] = s3.list_object_versions(Bucket=bucket, Prefix="events/")["Versions"]
    assert s3.get_object(Bucket=bucket, Key="events/one.jsonl")["Body"].read() == body.split(b"\n", 1)[1]
    holdings = deployed.session.resource("dynamodb").Table(outputs["HoldingsTable"]).scan()["Items"]
    assert [(h["user_id"], h["versions"]) for h in holdings] == [("frank", {version["VersionId"]})]
    jobs = deployed.session.resource("dynamodb").Table(outputs["JobsTable"])
    audit = jobs.get_item(Key={"job_id": "removal#gdpr-42", "entry": "object#events/one.jsonl"})["Item"]
    assert audit["outcome"] == "rewritten" and audit["kept_version"] == version["VersionId"]
    bad = invoke(FunctionName=outputs["RemovalFunctionName"], Payload=b'{"user_id": "*"}')
    assert bad["FunctionError"] == "Unhandled" and b"ValidationError" in bad["Payload"].read()
    assert deployed.destroy() == {}
