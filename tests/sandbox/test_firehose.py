"""Firehose as AWS documents it, beyond buffering: Lambda data transformation (Ok, Dropped, ProcessingFailed,
invocation retries, malformed responses) with failures written under the error output prefix; the delivery role
(trust and permissions) for S3 writes and invocations; failed writes kept and retried, never dropped;
PutRecordBatch limits and partial failures (the ``sandbox:put-failure-rate`` tag); Glue databases and tables in
CloudFormation."""

from __future__ import annotations

import base64
import gzip
import json
import time
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from lambda_code import create_function

TRANSFORMER = """
import base64, json

def handler(event, context):
    out = []
    for record in event["records"]:
        text = base64.b64decode(record["data"]).decode()
        if text.startswith("drop"):
            out.append({"recordId": record["recordId"], "result": "Dropped"})
        elif text.startswith("bad"):
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
        elif text.startswith("skip"):
            continue  # a response that forgets a record
        else:
            data = base64.b64encode(text.upper().encode()).decode()
            out.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return {"records": out}
"""

CRASHER = """
def handler(event, context):
    raise RuntimeError("transformer is broken")
"""

TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def delivery_role(account, name="delivery", actions=("s3:PutObject", "lambda:InvokeFunction"), trust=TRUST):
    iam = account.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if actions:
        grant(account, name, list(actions))
    return arn


def grant(account, role, actions):
    account.client("iam").put_role_policy(
        RoleName=role,
        PolicyName="delivery",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        ),
    )


def bucket(account):
    """S3 bucket names are global: one per test account."""
    return f"lake-{account.client('sts').get_caller_identity()['Account']}"


def stream(account, role_arn, *, function_arn=None, retries=None, error_prefix="errors/!{firehose:error-output-type}/"):
    account.client("s3").create_bucket(Bucket=bucket(account))
    destination = {
        "BucketARN": f"arn:aws:s3:::{bucket(account)}",
        "RoleARN": role_arn,
        "Prefix": "data/year=!{timestamp:yyyy}/month=!{timestamp:MM}/",
        "ErrorOutputPrefix": error_prefix,
        "CompressionFormat": "GZIP",
        "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
    }
    if function_arn:
        parameters = [{"ParameterName": "LambdaArn", "ParameterValue": function_arn}]
        if retries is not None:
            parameters.append({"ParameterName": "NumberOfRetries", "ParameterValue": str(retries)})
        destination["ProcessingConfiguration"] = {
            "Enabled": True,
            "Processors": [{"Type": "Lambda", "Parameters": parameters}],
        }
    account.client("firehose").create_delivery_stream(
        DeliveryStreamName="events", DeliveryStreamType="DirectPut", ExtendedS3DestinationConfiguration=destination
    )
    return "events"


def put(account, *texts):
    return account.client("firehose").put_record_batch(
        DeliveryStreamName="events", Records=[{"Data": f"{t}\n".encode()} for t in texts]
    )


def raw_objects(account, prefix=""):
    """Every object under ``prefix``, decompressed."""
    s3 = account.client("s3")
    name = bucket(account)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix=prefix).get("Contents", [])]
    return {key: gzip.decompress(s3.get_object(Bucket=name, Key=key)["Body"].read()) for key in keys}


def objects(account, prefix=""):
    return {key: body.decode() for key, body in raw_objects(account, prefix).items()}


def failures(account):
    return [json.loads(line) for body in objects(account, "errors/").values() for line in body.splitlines()]


def invocations(account, name):
    logs = account.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]:
        return 0  # never invoked
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return sum(e["message"].startswith("START ") for e in events)


# ---------------------------------------------------------------- transformation
def test_the_transformation_delivers_ok_drops_dropped_and_parks_failed_records_with_their_error(account, quiesce):
    function = create_function(account, "transformer", TRANSFORMER)
    stream(account, delivery_role(account), function_arn=function)
    put(account, "a", "drop me", "bad one", "b")
    assert quiesce()

    [(key, body)] = objects(account, "data/").items()
    assert key.startswith("data/year=") and "/month=" in key and key.endswith(".gz")
    assert body == "A\nB\n"
    [(error_key, _)] = objects(account, "errors/").items()
    assert error_key.startswith("errors/processing-failed/events-1-")
    [failure] = failures(account)
    assert base64.b64decode(failure["rawData"]) == b"bad one\n"
    assert (failure["errorCode"], failure["attemptsMade"], failure["lambdaArn"]) == (
        "Lambda.ProcessingFailed",
        1,
        function,
    )
    assert failure["arrivalTimestamp"] <= failure["attemptEndingTimestamp"]


def test_records_the_response_leaves_out_are_processing_failures(account, quiesce):
    stream(account, delivery_role(account), function_arn=create_function(account, "transformer", TRANSFORMER))
    put(account, "a", "skip me")
    assert quiesce()
    assert list(objects(account, "data/").values()) == ["A\n"]
    [failure] = failures(account)
    assert failure["errorCode"] == "Lambda.MissingRecordId"
    assert base64.b64decode(failure["rawData"]) == b"skip me\n"


def test_a_failing_function_is_retried_then_its_whole_batch_is_parked(account, quiesce):
    stream(account, delivery_role(account), function_arn=create_function(account, "crasher", CRASHER), retries=2)
    put(account, "a", "b", "c")
    assert quiesce()
    assert objects(account, "data/") == {}
    parked = failures(account)
    assert sorted(base64.b64decode(f["rawData"]) for f in parked) == [b"a\n", b"b\n", b"c\n"]
    assert {(f["errorCode"], f["attemptsMade"]) for f in parked} == {("Lambda.FunctionError", 3)}
    assert "transformer is broken" in parked[0]["errorMessage"]
    assert invocations(account, "crasher") == 3  # the first attempt and NumberOfRetries=2


def test_a_role_that_may_not_invoke_the_function_parks_the_records(account, quiesce):
    function = create_function(account, "transformer", TRANSFORMER)
    stream(account, delivery_role(account, actions=("s3:PutObject",)), function_arn=function, retries=0)
    put(account, "a")
    assert quiesce()
    [failure] = failures(account)
    assert failure["errorCode"] == "Lambda.InvokeAccessDenied"
    assert invocations(account, "transformer") == 0


def test_an_error_prefix_without_expressions_gets_the_error_type_and_time(account, quiesce):
    function = create_function(account, "transformer", TRANSFORMER)
    stream(account, delivery_role(account), function_arn=function, error_prefix="errors/")
    put(account, "bad")
    assert quiesce()
    [key] = objects(account, "errors/")
    assert key.startswith("errors/processing-failed/20") and key.count("/") == 6


# ---------------------------------------------------------------- failed writes are retried, not lost
@pytest.mark.parametrize("broken", ["no permission", "untrusted role"])
def test_a_failed_write_is_kept_and_retried_until_it_succeeds(account, quiesce, broken):
    trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "logs.amazonaws.com"}}]}
    role = delivery_role(account, actions=()) if broken == "no permission" else delivery_role(account, trust=trust)
    stream(account, role)
    put(account, "a", "b")
    assert quiesce()
    assert quiesce()  # every quiesce retries once more
    assert objects(account) == {}  # not delivered ...

    if broken == "no permission":
        grant(account, "delivery", ["s3:PutObject"])
    else:
        account.client("iam").update_assume_role_policy(RoleName="delivery", PolicyDocument=json.dumps(TRUST))
    assert quiesce()
    assert list(objects(account).values()) == ["a\nb\n"]  # ... nor lost, and written once


# ---------------------------------------------------------------- CloudWatch Logs subscriptions
@pytest.mark.parametrize("allowed", [True, False])
def test_a_log_subscription_puts_with_its_role_which_must_allow_the_put(account, quiesce, allowed):
    stream(account, delivery_role(account))
    stream_arn = account.client("firehose").describe_delivery_stream(DeliveryStreamName="events")[
        "DeliveryStreamDescription"
    ]["DeliveryStreamARN"]
    logs_trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "logs.amazonaws.com"}}]}
    role = delivery_role(account, "logs-to-firehose", actions=(), trust=logs_trust)
    if allowed:
        grant(account, "logs-to-firehose", ["firehose:PutRecord"])
    logs = account.client("logs")
    logs.create_log_group(logGroupName="/app")
    logs.create_log_stream(logGroupName="/app", logStreamName="s")
    logs.put_subscription_filter(
        logGroupName="/app", filterName="all", filterPattern='"hello"', destinationArn=stream_arn, roleArn=role
    )
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/app",
        logStreamName="s",
        logEvents=[{"timestamp": now, "message": "hello"}, {"timestamp": now + 1, "message": "not matched"}],
    )
    assert quiesce()
    bodies = list(raw_objects(account).values())
    if not allowed:
        assert bodies == []
        return
    [body] = bodies
    envelope = json.loads(gzip.decompress(body))  # CloudWatch Logs gzips its envelopes
    assert envelope["messageType"] == "DATA_MESSAGE"
    assert [e["message"] for e in envelope["logEvents"]] == ["hello"]  # only what the filter pattern matches
    assert isinstance(envelope["logEvents"][0]["id"], str)  # as CloudWatch Logs sends it


# ---------------------------------------------------------------- PutRecordBatch: limits and partial failures
def test_a_failure_rate_tag_fails_that_share_of_records_and_a_producer_resends_exactly_those(account, quiesce):
    firehose = account.client("firehose")
    stream(account, delivery_role(account))
    firehose.tag_delivery_stream(
        DeliveryStreamName="events", Tags=[{"Key": "sandbox:put-failure-rate", "Value": "0.25"}]
    )
    texts = [f"r{n}" for n in range(8)]
    response = put(account, *texts)
    assert response["FailedPutCount"] == 2
    failed = [t for t, r in zip(texts, response["RequestResponses"], strict=True) if "ErrorCode" in r]
    assert failed == ["r3", "r7"]  # every fourth record
    assert {(r["ErrorCode"], r["ErrorMessage"]) for r in response["RequestResponses"] if "ErrorCode" in r} == {
        ("ServiceUnavailableException", "Slow down.")
    }
    assert all("RecordId" in r for r in response["RequestResponses"] if "ErrorCode" not in r)
    pending, attempts = failed, 1
    while pending:
        response = put(account, *pending)
        pending = [t for t, r in zip(pending, response["RequestResponses"], strict=True) if "ErrorCode" in r]
        attempts += 1
    assert attempts > 1
    assert quiesce()
    delivered = "".join(objects(account).values()).splitlines()
    assert sorted(delivered) == sorted(texts)  # each once


def test_put_record_of_a_failing_record_raises_service_unavailable(account):
    stream(account, delivery_role(account))
    firehose = account.client("firehose", config=Config(retries={"max_attempts": 1}))
    firehose.tag_delivery_stream(DeliveryStreamName="events", Tags=[{"Key": "sandbox:put-failure-rate", "Value": "1"}])
    with pytest.raises(ClientError) as raised:
        firehose.put_record(DeliveryStreamName="events", Record={"Data": b"x"})
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailableException"


def test_batches_over_firehoses_limits_are_refused(account):
    stream(account, delivery_role(account))
    firehose = account.client("firehose")
    with pytest.raises(ClientError, match="limit is 500"):
        firehose.put_record_batch(DeliveryStreamName="events", Records=[{"Data": b"x"}] * 501)
    with pytest.raises(ClientError, match="1,000 KiB"):
        firehose.put_record_batch(DeliveryStreamName="events", Records=[{"Data": b"x" * (1000 * 1024 + 1)}])


# ---------------------------------------------------------------- Glue in CloudFormation
def test_glue_databases_and_tables_are_created_and_deleted_with_their_stack(account):
    template = {
        "Resources": {
            "Catalog": {
                "Type": "AWS::Glue::Database",
                "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": "lake_db"}},
            },
            "Events": {
                "Type": "AWS::Glue::Table",
                "Properties": {
                    "CatalogId": {"Ref": "AWS::AccountId"},
                    "DatabaseName": {"Ref": "Catalog"},
                    "TableInput": {
                        "Name": "events",
                        "TableType": "EXTERNAL_TABLE",
                        "PartitionKeys": [{"Name": "year", "Type": "string"}],
                        "Parameters": {"projection.enabled": "true"},
                        "StorageDescriptor": {
                            "Columns": [{"Name": "id", "Type": "string"}],
                            "Location": "s3://lake/data/",
                        },
                    },
                },
            },
        },
        "Outputs": {"Database": {"Value": {"Ref": "Catalog"}}, "Table": {"Value": {"Ref": "Events"}}},
    }
    cloudformation, glue = account.client("cloudformation"), account.client("glue")
    cloudformation.create_stack(StackName="catalog", TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName="catalog")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {"Database": "lake_db", "Table": "events"}
    table = glue.get_table(DatabaseName="lake_db", Name="events")["Table"]
    assert table["StorageDescriptor"]["Location"] == "s3://lake/data/"
    assert table["PartitionKeys"] == [{"Name": "year", "Type": "string"}]
    cloudformation.delete_stack(StackName="catalog")
    assert glue.get_databases()["DatabaseList"] == []
