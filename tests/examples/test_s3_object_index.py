"""s3-object-index: template assertions, the cdk-nag gate, handler unit tests (moto in-process) and bad input.

The end-to-end test, which deploys the app into a sandbox account, is tests/e2e/test_s3_object_index_e2e.py.
"""

from __future__ import annotations

import gzip
import json
import sys
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from moto import mock_aws
from pydantic import ValidationError
from s3_events import TEST_EVENT, notification, s3_record, sqs_event

from awspatterns.app import new_app
from awspatterns.blocks import acknowledge_cdk_custom_resources
from awspatterns.catalog import get_pattern
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "s3-object-index"
BUCKET = "events-bucket"
PREFIX = "events/"


def lines(*records: tuple[str, str]) -> bytes:
    """JSON lines, one record per (user, timestamp)."""
    return "".join(json.dumps({"user_id": u, "ts": ts, "event": "view"}) + "\n" for u, ts in records).encode()


DAY = lines(("alice", "2026-11-01T10:00:00Z"), ("bob", "2026-11-01T11:00:00Z"), ("alice", "2026-11-01T12:00:00Z"))


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["S3ObjectIndex"])


def policy_actions(template: Template, role_prefix: str) -> dict[str, list[Any]]:
    """Each action the role's default policy allows, with every resource it is allowed on."""
    policy = next(p for name, p in template.find_resources("AWS::IAM::Policy").items() if name.startswith(role_prefix))
    actions: dict[str, list[Any]] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
            actions.setdefault(action, []).extend(resources)
    return actions


def test_the_bucket_sends_created_removed_and_expired_events_under_the_prefix_to_the_queue(template):
    configuration = next(iter(template.find_resources("Custom::S3BucketNotifications").values()))["Properties"][
        "NotificationConfiguration"
    ]
    configs = configuration["QueueConfigurations"]
    assert sorted(c["Events"][0] for c in configs) == [
        "s3:LifecycleExpiration:*",
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:*",
    ]
    for config in configs:
        assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": PREFIX}]
        assert config["QueueArn"]["Fn::GetAtt"][0].startswith("ObjectIndexQueue")
    assert "LambdaFunctionConfigurations" not in configuration


def test_the_index_is_keyed_so_a_users_objects_are_one_query(template):
    tables = {
        name: t["Properties"] for name, t in template.find_resources("AWS::DynamoDB::Table").items() if "Index" in name
    }
    holdings = next(t for name, t in tables.items() if "Holdings" in name)
    assert holdings["KeySchema"] == [
        {"AttributeName": "user_id", "KeyType": "HASH"},
        {"AttributeName": "object_key", "KeyType": "RANGE"},
    ]
    [by_object] = holdings["GlobalSecondaryIndexes"]
    assert by_object["IndexName"] == "ByObject"
    assert [k["AttributeName"] for k in by_object["KeySchema"]] == ["object_key", "user_id"]
    objects = next(t for name, t in tables.items() if "Objects" in name)
    [unindexable] = objects["GlobalSecondaryIndexes"]
    assert unindexable["KeySchema"][0]["AttributeName"] == "unindexable"  # sparse: only unindexable items have it
    for table in tables.values():
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert len(tables) == 3


def test_the_indexer_takes_batches_reports_item_failures_and_outlasts_no_visibility_timeout(template):
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    )
    [indexer] = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "indexer.index.handler"}})
    timeout = template.find_resources("AWS::Lambda::Function")[indexer]["Properties"]["Timeout"]
    queue = next(
        q
        for name, q in template.find_resources("AWS::SQS::Queue").items()
        if name.startswith("ObjectIndexQueue") and "Dlq" not in name
    )
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3


def test_each_function_may_do_exactly_what_its_code_does(template):
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    poller = {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    reads = {"s3:GetObject", "s3:GetObjectVersion"}
    indexer = policy_actions(template, "ObjectIndexIndexerRole")
    assert set(indexer) == logs | poller | reads | {
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "sqs:SendMessage",
    }
    assert [r["Fn::Join"][1][1] for r in indexer["s3:GetObject"]] == ["/events/*"]
    assert indexer["dynamodb:Query"] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": [next(iter(_holdings(template))), "Arn"]}, "/index/ByObject"]]}
    ]
    backfill = policy_actions(template, "ObjectIndexBackfillRole")
    assert set(backfill) == logs | reads | {
        "s3:ListBucketVersions",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }
    removal = policy_actions(template, "ObjectIndexRemovalRole")
    assert {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucketVersions"} <= set(removal)
    for role in (indexer, backfill):
        assert not {a for a in role if a.startswith(("s3:Put", "s3:Delete"))}  # only the removal rewrites


def _holdings(template: Template) -> dict[str, Any]:
    return {n: t for n, t in template.find_resources("AWS::DynamoDB::Table").items() if "Holdings" in n}


def test_functions_are_traced_and_the_jobs_may_run_fifteen_minutes(template):
    for handler, timeout in (
        ("indexer.index.handler", 60),
        ("backfill.index.handler", 900),
        ("removal.index.handler", 900),
    ):
        template.has_resource_properties(
            "AWS::Lambda::Function", {"Handler": handler, "TracingConfig": {"Mode": "Active"}, "Timeout": timeout}
        )


def test_the_stack_passes_the_nag_gate_and_acknowledges_no_wildcard_but_the_prefix(assemblies):
    assembly = assemblies[SLUG]
    assert nag_violations(assembly.directory) == []
    wildcards = {
        (path, rule.removeprefix("Annotation::"))
        for metadata_file in assembly.directory.glob("*.metadata.json")
        for path, entries in json.loads(metadata_file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
        if "IAM5" in rule and not rule.endswith("[Resource::*]")
    }
    assert wildcards == {
        (f"/S3ObjectIndex/ObjectIndex/{fn}/Role", "AwsSolutions-IAM5[Resource::<EventsD32975C2.Arn>/events/*]")
        for fn in ("Indexer", "Backfill", "Removal")
    }


def test_the_construct_indexes_an_existing_bucket(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = new_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Existing", env=cdk.Environment(account="123456789012", region="us-east-1"))
    bucket = s3.Bucket.from_bucket_name(stack, "Imported", "an-existing-bucket")
    module.ObjectIndex(stack, "Index", bucket=bucket, prefix="raw/")
    acknowledge_cdk_custom_resources(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("Custom::S3BucketNotifications", {"BucketName": "an-existing-bucket"})
    template.resource_count_is("AWS::DynamoDB::Table", 3)
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)


# ---------------------------------------------------------------- handlers, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "OBJECTS_TABLE": "objects",
        "HOLDINGS_TABLE": "holdings",
        "JOBS_TABLE": "jobs",
        "BUCKET_NAME": BUCKET,
        "PREFIX": PREFIX,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        ddb = boto3.client("dynamodb")

        def table(name: str, *keys: str, indexes: list[dict[str, Any]] | None = None) -> None:
            attributes = {k for k in keys} | {k["AttributeName"] for i in indexes or [] for k in i["KeySchema"]}
            ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
                **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            )

        def index(name: str, *keys: str) -> dict[str, Any]:
            return {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)
                ],
                "Projection": {"ProjectionType": "ALL"},
            }

        table("objects", "object_key", indexes=[index("Unindexable", "unindexable", "object_key")])
        table("holdings", "user_id", "object_key", indexes=[index("ByObject", "object_key", "user_id")])
        table("jobs", "job_id", "entry")
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"])
        yield boto3.resource("dynamodb")


@pytest.fixture
def indexer(aws, handler_loader):
    return handler_loader(SLUG, "indexer.index")


@pytest.fixture
def backfill(aws, handler_loader):
    return handler_loader(SLUG, "backfill.index")


@pytest.fixture
def removal(aws, handler_loader):
    return handler_loader(SLUG, "removal.index")


def upload(key: str, body: bytes) -> Any:
    return boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]


def created(key: str, version: str, sequencer: str = "0A1") -> Any:
    return notification(s3_record(BUCKET, key, version_id=version, sequencer=sequencer))


def removed(key: str, version: str, sequencer: str, name: str = "ObjectRemoved:Delete") -> Any:
    return notification(s3_record(BUCKET, key, version_id=version, sequencer=sequencer, event_name=name))


def entry(aws, key: str) -> Any:
    return aws.Table("objects").get_item(Key={"object_key": key}).get("Item")


def holdings(aws) -> dict[tuple[str, str], set[str]]:
    return {(i["user_id"], i["object_key"]): set(i["versions"]) for i in aws.Table("holdings").scan()["Items"]}


def parked() -> Any:
    url = boto3.client("sqs").get_queue_url(QueueName="dlq")["QueueUrl"]
    return (
        boto3.client("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )


def versions_of(key: str) -> Any:
    page = boto3.client("s3").list_object_versions(Bucket=BUCKET, Prefix=key)
    return [v for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]


def body_of(key: str, version: str) -> bytes:
    data = boto3.client("s3").get_object(Bucket=BUCKET, Key=key, VersionId=version)["Body"].read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


# --8<-- [start:indexer]
def test_the_indexer_records_each_objects_users_and_time_range(aws, indexer, lambda_context):
    plain = upload("events/day-1.jsonl", DAY)
    zipped = upload("events/day 2.jsonl.gz", gzip.compress(lines(("carol", "2026-11-02T09:30:00+01:00"))))
    event = sqs_event(created("events/day-1.jsonl", plain), created("events/day 2.jsonl.gz", zipped))

    assert indexer.handler(event, lambda_context) == {"batchItemFailures": []}

    assert holdings(aws) == {
        ("alice", "events/day-1.jsonl"): {plain},
        ("bob", "events/day-1.jsonl"): {plain},
        ("carol", "events/day 2.jsonl.gz"): {zipped},  # the key arrives URL-encoded and is decoded
    }
    item = entry(aws, "events/day-1.jsonl")
    assert (item["status"], item["records"], item["users"], item["version_id"]) == ("indexed", 3, 2, plain)
    assert (item["first_ts"], item["last_ts"]) == ("2026-11-01T10:00:00+00:00", "2026-11-01T12:00:00+00:00")
    assert entry(aws, "events/day 2.jsonl.gz")["gzipped"] is True
    objects_holding = sys.modules["object_index"].objects_holding
    assert [i["object_key"] for i in objects_holding("alice")] == ["events/day-1.jsonl"]  # a query, not a scan


# --8<-- [end:indexer]


def test_a_redelivered_or_late_event_never_replaces_a_newer_entry(aws, indexer, lambda_context):
    old = upload("events/a.jsonl", DAY)
    new = upload("events/a.jsonl", lines(("carol", "2026-11-03T00:00:00Z")))
    indexer.handler(sqs_event(created("events/a.jsonl", new, sequencer="0B2")), lambda_context)
    indexer.handler(sqs_event(created("events/a.jsonl", old, sequencer="0A1")), lambda_context)  # arrives late
    assert entry(aws, "events/a.jsonl")["version_id"] == new  # the Objects item describes the latest version
    indexer.handler(sqs_event(created("events/a.jsonl", new, sequencer="0B2")), lambda_context)  # delivered twice
    assert entry(aws, "events/a.jsonl")["version_id"] == new
    assert holdings(aws) == {  # both versions exist: the holdings name each user in the version holding them
        ("alice", "events/a.jsonl"): {old},
        ("bob", "events/a.jsonl"): {old},
        ("carol", "events/a.jsonl"): {new},
    }


def test_a_deleted_version_leaves_the_index_and_a_delete_marker_does_not(aws, indexer, lambda_context):
    old = upload("events/a.jsonl", DAY)
    new = upload("events/a.jsonl", lines(("alice", "2026-11-03T00:00:00Z")))
    indexer.handler(
        sqs_event(created("events/a.jsonl", old, "0A1"), created("events/a.jsonl", new, "0A2")), lambda_context
    )
    marker = boto3.client("s3").delete_object(Bucket=BUCKET, Key="events/a.jsonl")["VersionId"]
    indexer.handler(
        sqs_event(removed("events/a.jsonl", marker, "0A3", "ObjectRemoved:DeleteMarkerCreated")), lambda_context
    )
    assert set(holdings(aws)) == {("alice", "events/a.jsonl"), ("bob", "events/a.jsonl")}  # hidden, not gone

    boto3.client("s3").delete_object(Bucket=BUCKET, Key="events/a.jsonl", VersionId=old)
    indexer.handler(sqs_event(removed("events/a.jsonl", old, "0A4")), lambda_context)
    assert holdings(aws) == {("alice", "events/a.jsonl"): {new}}  # bob's only version is gone
    boto3.client("s3").delete_object(Bucket=BUCKET, Key="events/a.jsonl", VersionId=new)
    indexer.handler(sqs_event(removed("events/a.jsonl", new, "0A5")), lambda_context)
    assert holdings(aws) == {} and entry(aws, "events/a.jsonl") is None


def test_a_version_deleted_before_it_is_read_is_skipped(aws, indexer, lambda_context):
    version = upload("events/gone.jsonl", DAY)
    boto3.client("s3").delete_object(Bucket=BUCKET, Key="events/gone.jsonl", VersionId=version)
    assert indexer.handler(sqs_event(created("events/gone.jsonl", version)), lambda_context) == {
        "batchItemFailures": []
    }
    assert holdings(aws) == {} and entry(aws, "events/gone.jsonl") is None


def test_the_indexer_acknowledges_the_s3_test_event(aws, indexer, lambda_context):
    assert indexer.handler(sqs_event(TEST_EVENT), lambda_context) == {"batchItemFailures": []}
    assert parked() == []


def test_a_passing_failure_is_reported_alone_and_retried(aws, indexer, lambda_context, monkeypatch):
    good = upload("events/good.jsonl", DAY)
    bad = upload("events/throttled.jsonl", DAY)
    index = sys.modules["object_index"]
    original = index.holdings.update_item

    def throttled(**kwargs: Any) -> Any:
        if kwargs["Key"]["object_key"] == "events/throttled.jsonl":
            raise index.ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")
        return original(**kwargs)

    monkeypatch.setattr(index.holdings, "update_item", throttled)
    event = sqs_event(created("events/good.jsonl", good), created("events/throttled.jsonl", bad))
    assert indexer.handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert entry(aws, "events/good.jsonl") is not None and parked() == []


# ---------------------------------------------------------------- bad input: unindexable objects, malformed events
MALFORMED_OBJECTS = {
    "not json": (b"user_id=alice ts=now\n", "line 1: not JSON"),
    "truncated gzip": (gzip.compress(DAY)[:-10], "truncated gzip"),
    "corrupt gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate at all", "corrupt gzip"),
    "a json array line": (DAY + b"[1, 2]\n", "line 4: not a JSON object"),
    "no user id": (DAY + b'{"ts": "2026-11-01T00:00:00Z"}\n', "line 4: user_id: Field required"),
    "user id is a number": (b'{"user_id": 7, "ts": "2026-11-01T00:00:00Z"}\n', "line 1: user_id"),
    "user id with spaces": (b'{"user_id": "a b", "ts": "2026-11-01T00:00:00Z"}\n', "line 1: user_id"),
    "time is not a time": (b'{"user_id": "alice", "ts": "yesterday"}\n', "line 1: ts"),
    "not utf-8": (b'{"user_id": "alice", "ts": "2026-11-01T00:00:00Z", "x": "\xff"}\n', "not UTF-8"),
    "truncated line": (DAY[:-8], "line 3: not JSON"),
}


@pytest.mark.parametrize(("body", "reason"), MALFORMED_OBJECTS.values(), ids=MALFORMED_OBJECTS.keys())
def test_a_malformed_object_is_recorded_as_unindexable_with_its_reason(aws, indexer, lambda_context, body, reason):
    version = upload("events/bad.jsonl", body)
    assert indexer.handler(sqs_event(created("events/bad.jsonl", version)), lambda_context) == {"batchItemFailures": []}
    item = entry(aws, "events/bad.jsonl")
    assert item["status"] == "unindexable" and item["unindexable"] == "yes"
    assert reason in item["reason"], item["reason"]
    assert holdings(aws) == {} and parked() == []  # a result, not a failure: nothing retried, nothing parked
    listed = sys.modules["object_index"].unindexable_objects()
    assert [i["object_key"] for i in listed] == ["events/bad.jsonl"]


def test_an_object_that_inflates_too_far_is_refused_unread(aws, indexer, lambda_context, monkeypatch):
    monkeypatch.setattr(sys.modules["event_lines"], "MAX_INFLATED_BYTES", 1000)
    version = upload("events/bomb.jsonl.gz", gzip.compress(b" " * 100_000))
    indexer.handler(sqs_event(created("events/bomb.jsonl.gz", version)), lambda_context)
    assert "inflates to more than 1000 bytes" in entry(aws, "events/bomb.jsonl.gz")["reason"]


def test_an_object_holding_too_many_users_is_unindexable(aws, indexer, lambda_context, monkeypatch):
    monkeypatch.setattr(sys.modules["event_lines"], "MAX_USERS_PER_OBJECT", 1)
    version = upload("events/crowd.jsonl", DAY)
    indexer.handler(sqs_event(created("events/crowd.jsonl", version)), lambda_context)
    assert "holds more than 1 users" in entry(aws, "events/crowd.jsonl")["reason"]


MALFORMED_MESSAGES = {
    "not json": "this is not json",
    "truncated": created("events/t.jsonl", "v1")[:-20],
    "json array": "[1, 2]",
    "records not a list": json.dumps({"Records": {"a": 1}}),
    "not from s3": json.dumps({"Records": [{"eventSource": "aws:sqs"}]}),
    "key is a number": notification(
        {**s3_record(BUCKET, "k"), "s3": {**s3_record(BUCKET, "k")["s3"], "object": {"key": 5}}}
    ),
}


@pytest.mark.parametrize("body", MALFORMED_MESSAGES.values(), ids=MALFORMED_MESSAGES.keys())
def test_the_indexer_parks_malformed_messages_with_their_error(aws, indexer, lambda_context, body):
    assert indexer.handler(sqs_event(body), lambda_context) == {"batchItemFailures": []}
    [message] = parked()
    assert message["Body"] == body
    assert message["MessageAttributes"]["ErrorType"]["StringValue"] == "MalformedEvent"
    assert holdings(aws) == {}


def test_the_indexer_reports_a_message_it_cannot_park(aws, indexer, lambda_context, monkeypatch):
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/gone")
    assert indexer.handler(sqs_event("nope"), lambda_context) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}


# ---------------------------------------------------------------- the backfill
def test_the_backfill_indexes_every_version_that_predates_the_index_and_resumes(aws, backfill, lambda_context):
    older = upload("events/a.jsonl", lines(("dave", "2026-10-01T00:00:00Z")))  # a noncurrent version: dave is in it
    latest = upload("events/a.jsonl", DAY)
    upload("events/b.jsonl.gz", gzip.compress(lines(("carol", "2026-10-02T00:00:00Z"))))
    upload("events/broken.jsonl", b"not json\n")
    upload("elsewhere/c.jsonl", DAY)  # outside the prefix

    first = backfill.handler({"job_id": "rebuild", "page_size": 2, "max_pages": 1}, lambda_context)
    assert first["status"] == "running" and first["pages"] == 1  # paused: invoke again to resume
    done = backfill.handler({"job_id": "rebuild", "page_size": 2}, lambda_context)

    assert done["status"] == "completed"
    assert (done["indexed"], done["unindexable"]) == (3, 1)  # every version once: the first page was not redone
    assert holdings(aws)[("dave", "events/a.jsonl")] == {older}
    assert entry(aws, "events/a.jsonl")["version_id"] == latest
    assert {k for _, k in holdings(aws)} == {"events/a.jsonl", "events/b.jsonl.gz"}
    again = backfill.handler({"job_id": "rebuild"}, lambda_context)
    assert again == done  # a completed job reports and does nothing


def test_the_backfill_skips_what_the_indexer_already_has_and_never_replaces_it(aws, backfill, indexer, lambda_context):
    version = upload("events/a.jsonl", DAY)
    indexer.handler(sqs_event(created("events/a.jsonl", version, "0FF")), lambda_context)
    done = backfill.handler({"job_id": "b1"}, lambda_context)
    assert done["already indexed"] == 1 and "indexed" not in done
    assert entry(aws, "events/a.jsonl")["sequencer"].endswith("0FF")


def test_two_runs_of_one_backfill_job_cannot_both_save(aws, backfill, lambda_context, monkeypatch):
    upload("events/a.jsonl", DAY)
    real_save = backfill.save

    def overtaken(checkpoint: dict[str, Any], page: dict[str, Any], counts: Any) -> Any:
        aws.Table("jobs").put_item(  # another invocation of the same job saved its first page meanwhile
            Item={"job_id": "backfill#j", "entry": "checkpoint", "status": "running", "pages": 1, "counts": {}}
        )
        return real_save(checkpoint, page, counts)

    monkeypatch.setattr(backfill, "save", overtaken)
    with pytest.raises(backfill.ConcurrentRun):
        backfill.handler({"job_id": "j"}, lambda_context)


MALFORMED_JOB_REQUESTS = {
    "empty": {},
    "a list": [],
    "job id with a slash": {"job_id": "a/b"},
    "job id too long": {"job_id": "j" * 65},
    "page size zero": {"job_id": "j", "page_size": 0},
    "page size too large": {"job_id": "j", "page_size": 5000},
    "unknown field": {"job_id": "j", "prefix": "/"},
}


@pytest.mark.parametrize("request_", MALFORMED_JOB_REQUESTS.values(), ids=MALFORMED_JOB_REQUESTS.keys())
def test_the_backfill_rejects_malformed_requests_before_any_work(aws, backfill, lambda_context, request_):
    upload("events/a.jsonl", DAY)
    with pytest.raises(ValidationError):
        backfill.handler(request_, lambda_context)
    assert holdings(aws) == {} and aws.Table("jobs").scan()["Items"] == []


# ---------------------------------------------------------------- the removal
def indexed_bucket(backfill, lambda_context) -> dict[str, str]:
    """Three objects, bob in two of them (one gzipped, one with an older version holding him), indexed."""
    keys = {
        "events/a.jsonl": upload("events/a.jsonl", DAY),
        "events/b.jsonl.gz": upload("events/b.jsonl.gz", gzip.compress(DAY)),
        "events/c.jsonl": upload("events/c.jsonl", lines(("carol", "2026-11-01T00:00:00Z"))),
    }
    upload("events/c.jsonl", lines(("bob", "2026-11-01T00:00:00Z")))
    keys["events/c.jsonl"] = upload("events/c.jsonl", lines(("carol", "2026-11-02T00:00:00Z")))
    backfill.handler({"job_id": "setup"}, lambda_context)
    return keys


def test_a_removal_leaves_no_version_and_no_index_entry_holding_the_user(aws, backfill, removal, lambda_context):
    indexed_bucket(backfill, lambda_context)
    assert {k for u, k in holdings(aws) if u == "bob"} == {"events/a.jsonl", "events/b.jsonl.gz", "events/c.jsonl"}

    summary = removal.handler({"user_id": "bob", "request_id": "r-1"}, lambda_context)

    assert summary["status"] == "completed"
    assert (summary["objects"], summary["records_removed"]) == (3, 2)
    for key in ("events/a.jsonl", "events/b.jsonl.gz", "events/c.jsonl"):
        [only] = versions_of(key)  # every old version deleted
        assert b'"bob"' not in body_of(key, only["VersionId"])
    assert body_of("events/a.jsonl", versions_of("events/a.jsonl")[0]["VersionId"]) == lines(
        ("alice", "2026-11-01T10:00:00Z"), ("alice", "2026-11-01T12:00:00Z")
    )  # the other lines byte for byte
    assert not [k for u, k in holdings(aws) if u == "bob"]
    assert holdings(aws)[("alice", "events/a.jsonl")] == {versions_of("events/a.jsonl")[0]["VersionId"]}
    audit = {
        i["entry"]: i
        for i in aws.Table("jobs").query(
            KeyConditionExpression="job_id = :j", ExpressionAttributeValues={":j": "removal#r-1"}
        )["Items"]
    }
    assert audit["summary"]["user_id"] == "bob" and "completed_at" in audit["summary"]
    assert audit["object#events/c.jsonl"]["outcome"] == "old versions removed"  # bob was only in an old version


# --8<-- [start:rerun]
def test_a_removal_interrupted_halfway_is_finished_by_running_it_again(
    aws, backfill, removal, lambda_context, monkeypatch
):
    indexed_bucket(backfill, lambda_context)
    real_delete = removal.s3.delete_objects
    calls = []

    def fails_on_the_second_object(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 2:
            raise removal.s3.exceptions.ClientError({"Error": {"Code": "SlowDown", "Message": "x"}}, "DeleteObjects")
        return real_delete(**kwargs)

    monkeypatch.setattr(removal.s3, "delete_objects", fails_on_the_second_object)
    with pytest.raises(Exception, match="SlowDown"):
        removal.handler({"user_id": "bob", "request_id": "r-2"}, lambda_context)
    assert len(versions_of("events/b.jsonl.gz")) == 2  # rewritten, but its old version is still there

    summary = removal.handler({"user_id": "bob", "request_id": "r-2"}, lambda_context)

    assert (summary["status"], summary["runs"]) == ("completed", 2)
    assert summary["records_removed"] == 2  # the rewrite done by the first run is not repeated
    for key in ("events/a.jsonl", "events/b.jsonl.gz", "events/c.jsonl"):
        [only] = versions_of(key)
        assert b'"bob"' not in body_of(key, only["VersionId"])
    assert not [k for u, k in holdings(aws) if u == "bob"]


# --8<-- [end:rerun]


def test_a_removal_deletes_every_version_of_an_object_already_deleted(aws, backfill, removal, lambda_context):
    upload("events/gone.jsonl", DAY)
    boto3.client("s3").delete_object(Bucket=BUCKET, Key="events/gone.jsonl")  # a delete marker hides it
    backfill.handler({"job_id": "setup"}, lambda_context)
    assert ("bob", "events/gone.jsonl") in holdings(aws)  # hidden, but its version still holds bob's records
    summary = removal.handler({"user_id": "bob", "request_id": "r-6"}, lambda_context)
    assert (summary["status"], summary["versions_deleted"], summary["records_removed"]) == ("completed", 2, 0)
    assert versions_of("events/gone.jsonl") == [] and holdings(aws) == {}  # the marker went too


def test_a_removal_out_of_time_stops_and_resumes(aws, backfill, removal, lambda_context):
    indexed_bucket(backfill, lambda_context)
    lambda_context.remaining_ms = 1_000
    assert removal.handler({"user_id": "bob", "request_id": "r-3"}, lambda_context)["status"] == "incomplete"
    lambda_context.remaining_ms = 900_000
    assert removal.handler({"user_id": "bob", "request_id": "r-3"}, lambda_context)["status"] == "completed"


def test_an_unreadable_object_is_left_untouched_and_named_in_the_record(
    aws, backfill, indexer, removal, lambda_context
):
    old = upload("events/a.jsonl", DAY)
    indexer.handler(sqs_event(created("events/a.jsonl", old, "0A1")), lambda_context)
    new = upload("events/a.jsonl", b"garbage\n")
    indexer.handler(sqs_event(created("events/a.jsonl", new, "0A2")), lambda_context)
    summary = removal.handler({"user_id": "bob", "request_id": "r-4"}, lambda_context)
    assert summary["status"] == "needs-attention"
    assert summary["unreadable_objects"] == ["events/a.jsonl"] and summary["unindexable_objects"] == ["events/a.jsonl"]
    assert len(versions_of("events/a.jsonl")) == 2  # nothing deleted that a person must look at first


def test_a_request_id_belongs_to_one_user_and_a_completed_one_only_reports(aws, removal, lambda_context):
    first = removal.handler({"user_id": "bob", "request_id": "r-5"}, lambda_context)
    again = removal.handler({"user_id": "bob", "request_id": "r-5"}, lambda_context)
    assert json.loads(json.dumps(again)) == first  # what Lambda returns must be JSON
    with pytest.raises(removal.RequestConflict):
        removal.handler({"user_id": "alice", "request_id": "r-5"}, lambda_context)


MALFORMED_REMOVAL_REQUESTS = {
    "empty": {},
    "no request id": {"user_id": "bob"},
    "user id is a number": {"user_id": 7, "request_id": "r"},
    "user id with a wildcard": {"user_id": "*", "request_id": "r"},
    "user id too long": {"user_id": "u" * 129, "request_id": "r"},
    "request id with a hash": {"user_id": "bob", "request_id": "a#b"},
    "unknown field": {"user_id": "bob", "request_id": "r", "dry_run": True},
}


@pytest.mark.parametrize("request_", MALFORMED_REMOVAL_REQUESTS.values(), ids=MALFORMED_REMOVAL_REQUESTS.keys())
def test_the_removal_rejects_malformed_requests_before_any_work(aws, removal, lambda_context, request_):
    version = upload("events/a.jsonl", DAY)
    with pytest.raises(ValidationError):
        removal.handler(request_, lambda_context)
    assert [v["VersionId"] for v in versions_of("events/a.jsonl")] == [version]
    assert aws.Table("jobs").scan()["Items"] == []


def test_rewriting_keeps_other_lines_byte_for_byte_and_gzip(aws, handler_loader):
    event_lines = handler_loader(SLUG, "event_lines")
    odd = b'{"ts":"2026-11-01T00:00:00Z",  "user_id":"alice"}\r\n\n' + DAY
    body, removed_count = event_lines.without_user(gzip.compress(odd), "bob")
    assert removed_count == 1 and body[:2] == b"\x1f\x8b"
    assert gzip.decompress(body) == odd.replace(
        b'{"user_id": "bob", "ts": "2026-11-01T11:00:00Z", "event": "view"}\n', b""
    )
