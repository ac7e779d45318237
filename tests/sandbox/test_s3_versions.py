"""Versioned buckets in the sandbox: deleting one version is authorized as ``s3:DeleteObjectVersion`` (also inside a
batch delete), listing and reading versions as ``s3:ListBucketVersions`` and ``s3:GetObjectVersion``, and every
removal sends the event S3 sends (a delete marker's, or the deleted version's)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model
from lambda_code import admit
from test_iam_enforcement import allow, denied, role_session


@pytest.fixture
def root(account, sandbox):
    """The fresh account's root session; skips unless enforcement is on."""
    if sandbox.enforce != "on":
        pytest.skip(f"the session's sandbox enforces {sandbox.enforce!r}; these need 'on'")
    return account


def versioned_bucket(session: Any, name: str, versioned: bool = True) -> str:
    s3 = session.client("s3")
    bucket = f"{name}-{session.account_id}"
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def test_deleting_a_version_needs_delete_object_version(root):
    bucket = versioned_bucket(root, "v")
    s3 = root.client("s3")
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    objects = f"arn:aws:s3:::{bucket}/*"
    plain = role_session(root, "Plain", allow(["s3:DeleteObject", "s3:GetObject"], objects)).client("s3")
    error = denied(lambda: plain.delete_object(Bucket=bucket, Key="k", VersionId=old))
    assert (
        f'perform: s3:DeleteObjectVersion on resource: "arn:aws:s3:::{bucket}/k"' in error.response["Error"]["Message"]
    )
    error = denied(lambda: plain.get_object(Bucket=bucket, Key="k", VersionId=old))
    assert "s3:GetObjectVersion" in error.response["Error"]["Message"]
    error = denied(lambda: plain.list_object_versions(Bucket=bucket))
    assert f'perform: s3:ListBucketVersions on resource: "arn:aws:s3:::{bucket}"' in error.response["Error"]["Message"]

    versions = role_session(
        root,
        "Versions",
        allow(["s3:DeleteObjectVersion", "s3:GetObjectVersion"], objects),
        allow("s3:ListBucketVersions", f"arn:aws:s3:::{bucket}"),
    ).client("s3")
    assert versions.get_object(Bucket=bucket, Key="k", VersionId=old)["Body"].read() == b"1"
    versions.delete_object(Bucket=bucket, Key="k", VersionId=old)
    assert [v["VersionId"] for v in versions.list_object_versions(Bucket=bucket)["Versions"]] != [old]
    assert old not in {v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]}


def test_a_batch_delete_of_versions_needs_delete_object_version_on_each_key(root):
    bucket = versioned_bucket(root, "batch-v")
    s3 = root.client("s3")
    entries = [{"Key": k, "VersionId": s3.put_object(Bucket=bucket, Key=k, Body=b"x")["VersionId"]} for k in "ab"]
    objects = f"arn:aws:s3:::{bucket}/*"
    plain = role_session(root, "Plain", allow("s3:DeleteObject", objects)).client("s3")
    result = plain.delete_objects(Bucket=bucket, Delete={"Objects": entries})
    assert sorted((e["Key"], e["Code"]) for e in result["Errors"]) == [("a", "AccessDenied"), ("b", "AccessDenied")]
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 2
    assert [d["Key"] for d in plain.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}]})["Deleted"]] == [
        "a"
    ]  # without a version id it adds a delete marker: s3:DeleteObject suffices

    both = role_session(root, "Both", allow(["s3:DeleteObject", "s3:DeleteObjectVersion"], objects)).client("s3")
    result = both.delete_objects(Bucket=bucket, Delete={"Objects": entries})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b"] and "Errors" not in result
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)  # only the delete marker on "a" is left


def notified_queue(session: Any, bucket: str) -> tuple[Any, str]:
    """A queue receiving the bucket's ObjectRemoved events (the S3 test event already purged)."""
    sqs = session.client("sqs")
    queue = sqs.create_queue(QueueName=f"removals-{bucket}"[:80])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admit(session, queue, "s3", f"arn:aws:s3:::{bucket}")
    session.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}]},
    )
    sqs.purge_queue(QueueUrl=queue)
    return sqs, queue


def removals(sqs: Any, queue: str) -> list[tuple[str, str, str | None]]:
    """(event name, key, version id) of each event in the queue, every record validated against S3's schema."""
    found = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            body = json.loads(message["Body"])
            for record in body["Records"]:
                assert "size" not in record["s3"]["object"] and "eTag" not in record["s3"]["object"]
                assert record["s3"]["object"]["sequencer"]
            event = S3Model.model_validate(body)
            found += [(r.eventName, r.s3.object.key, r.s3.object.versionId) for r in event.Records if r.s3.object]
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return sorted(found, key=str)


def test_each_removal_in_a_versioned_bucket_sends_the_event_s3_sends(account):
    bucket = versioned_bucket(account, "events")
    s3 = account.client("s3")
    sqs, queue = notified_queue(account, bucket)
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]

    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    assert removals(sqs, queue) == [("ObjectRemoved:DeleteMarkerCreated", "k", marker)]

    s3.delete_object(Bucket=bucket, Key="k", VersionId=first)  # a noncurrent version: the key keeps others
    assert removals(sqs, queue) == [("ObjectRemoved:Delete", "k", first)]

    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v} for v in (second, marker)]})
    assert removals(sqs, queue) == sorted(
        [("ObjectRemoved:Delete", "k", second), ("ObjectRemoved:Delete", "k", marker)], key=str
    )
    s3.delete_object(Bucket=bucket, Key="k", VersionId=first)  # no longer there: success, and no event
    assert removals(sqs, queue) == []


def test_a_removal_in_an_unversioned_bucket_still_sends_one_event(account):
    bucket = versioned_bucket(account, "plain", versioned=False)
    s3 = account.client("s3")
    sqs, queue = notified_queue(account, bucket)
    s3.put_object(Bucket=bucket, Key="a b", Body=b"1")
    s3.delete_object(Bucket=bucket, Key="a b")
    assert removals(sqs, queue) == [("ObjectRemoved:Delete", "a+b", None)]


def test_a_bucket_declared_versioned_in_a_template_is_versioned(account):
    cloudformation, s3 = account.client("cloudformation"), account.client("s3")

    def template(status: str) -> str:
        return json.dumps(
            {
                "Resources": {
                    "Versioned": {
                        "Type": "AWS::S3::Bucket",
                        "Properties": {"VersioningConfiguration": {"Status": status}},
                    },
                    "Plain": {"Type": "AWS::S3::Bucket"},
                },
                "Outputs": {"Versioned": {"Value": {"Ref": "Versioned"}}, "Plain": {"Value": {"Ref": "Plain"}}},
            }
        )

    cloudformation.create_stack(StackName="buckets", TemplateBody=template("Enabled"))
    [stack] = cloudformation.describe_stacks(StackName="buckets")["Stacks"]
    names = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert s3.get_bucket_versioning(Bucket=names["Versioned"])["Status"] == "Enabled"
    assert "Status" not in s3.get_bucket_versioning(Bucket=names["Plain"])
    first = s3.put_object(Bucket=names["Versioned"], Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=names["Versioned"], Key="k", Body=b"2")
    assert s3.get_object(Bucket=names["Versioned"], Key="k", VersionId=first)["Body"].read() == b"1"

    cloudformation.update_stack(StackName="buckets", TemplateBody=template("Suspended"))
    assert s3.get_bucket_versioning(Bucket=names["Versioned"])["Status"] == "Suspended"
