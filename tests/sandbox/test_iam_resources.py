"""The action and resource the sandbox authorizes for each operation the patterns use, read from AWS's denial
message to a role without permissions, and the authorizations AWS makes on the caller's behalf (iam:PassRole,
the Data API's secret read, a copy's source object)."""

from __future__ import annotations

import re

import pytest
from test_iam_enforcement import REGION, allow, denied, role_session

ACCOUNT = "{account}"
R = f"{REGION}:{ACCOUNT}"
DENIAL = re.compile(
    r"is not authorized to perform: (\S+)(?: on resource: (\S+))? because no identity-based policy allows"
)

CASES = [
    ("sqs", "get_queue_url", {"QueueName": "q"}, "sqs:GetQueueUrl", f"arn:aws:sqs:{R}:q"),
    ("sqs", "create_queue", {"QueueName": "new"}, "sqs:CreateQueue", f"arn:aws:sqs:{R}:new"),
    ("sqs", "list_queues", {}, "sqs:ListQueues", "*"),
    ("sns", "create_topic", {"Name": "t"}, "SNS:CreateTopic", f"arn:aws:sns:{R}:t"),
    (
        "sns",
        "subscribe",
        {"TopicArn": f"arn:aws:sns:{R}:t", "Protocol": "sqs", "Endpoint": f"arn:aws:sqs:{R}:q"},
        "SNS:Subscribe",
        f"arn:aws:sns:{R}:t",
    ),
    (
        "dynamodb",
        "get_item",
        {"TableName": f"arn:aws:dynamodb:{R}:table/T", "Key": {"k": {"S": "1"}}},
        "dynamodb:GetItem",
        f"arn:aws:dynamodb:{R}:table/T",
    ),
    (
        "dynamodb",
        "transact_write_items",
        {"TransactItems": [{"Put": {"TableName": "T1", "Item": {"k": {"S": "1"}}}}]},
        "dynamodb:PutItem",
        f"arn:aws:dynamodb:{R}:table/T1",
    ),
    ("dynamodb", "list_tables", {}, "dynamodb:ListTables", "*"),
    (
        "dynamodb",
        "execute_statement",
        {"Statement": 'SELECT * FROM "Orders" WHERE pk = ?', "Parameters": [{"S": "1"}]},
        "dynamodb:PartiQLSelect",
        f"arn:aws:dynamodb:{R}:table/Orders",
    ),
    (
        "dynamodbstreams",
        "describe_stream",
        {"StreamArn": f"arn:aws:dynamodb:{R}:table/T/stream/2026-01-01T00:00:00.000"},
        "dynamodb:DescribeStream",
        f"arn:aws:dynamodb:{R}:table/T/stream/2026-01-01T00:00:00.000",
    ),
    (
        "kinesis",
        "put_record",
        {"StreamName": "s", "Data": b"x", "PartitionKey": "p"},
        "kinesis:PutRecord",
        f"arn:aws:kinesis:{R}:stream/s",
    ),
    (
        "firehose",
        "put_record",
        {"DeliveryStreamName": "d", "Record": {"Data": b"x"}},
        "firehose:PutRecord",
        f"arn:aws:firehose:{R}:deliverystream/d",
    ),
    (
        "secretsmanager",
        "get_secret_value",
        {"SecretId": "missing"},
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:{R}:secret:missing",
    ),
    ("ssm", "get_parameter", {"Name": "/app/url"}, "ssm:GetParameter", f"arn:aws:ssm:{R}:parameter/app/url"),
    ("ssm", "get_parameters_by_path", {"Path": "/app"}, "ssm:GetParametersByPath", f"arn:aws:ssm:{R}:parameter/app"),
    (
        "rds-data",
        "execute_statement",
        {
            "resourceArn": f"arn:aws:rds:{R}:cluster:db",
            "secretArn": f"arn:aws:secretsmanager:{R}:secret:db-AbCdEf",
            "sql": "select 1",
        },
        "rds-data:ExecuteStatement",
        f"arn:aws:rds:{R}:cluster:db",
    ),
    ("lambda", "get_function", {"FunctionName": "f"}, "lambda:GetFunction", f"arn:aws:lambda:{R}:function:f"),
    (
        "lambda",
        "get_function",
        {"FunctionName": f"arn:aws:lambda:{R}:function:f:live"},
        "lambda:GetFunction",
        f"arn:aws:lambda:{R}:function:f:live",
    ),
    (
        "events",
        "put_events",
        {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]},
        "events:PutEvents",
        f"arn:aws:events:{R}:event-bus/default",
    ),
    (
        "events",
        "put_rule",
        {"Name": "r", "EventBusName": "orders", "EventPattern": '{"source": ["s"]}'},
        "events:PutRule",
        f"arn:aws:events:{R}:rule/orders/r",
    ),
    (
        "logs",
        "create_log_group",
        {"logGroupName": "/g"},
        "logs:CreateLogGroup",
        f"arn:aws:logs:{R}:log-group:/g:log-stream:",
    ),
    ("logs", "describe_log_groups", {}, "logs:DescribeLogGroups", f"arn:aws:logs:{R}:log-group::log-stream:"),
    (
        "cloudwatch",
        "set_alarm_state",
        {"AlarmName": "a", "StateValue": "ALARM", "StateReason": "r"},
        "cloudwatch:SetAlarmState",
        f"arn:aws:cloudwatch:{R}:alarm:a",
    ),
    (
        "cloudwatch",
        "put_metric_data",
        {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": 1}]},
        "cloudwatch:PutMetricData",
        "*",
    ),
    ("xray", "put_trace_segments", {"TraceSegmentDocuments": ["{}"]}, "xray:PutTraceSegments", "*"),
    ("apigateway", "get_rest_apis", {}, "apigateway:GET", f"arn:aws:apigateway:{REGION}::/restapis"),
    ("iam", "get_user", {"UserName": "u"}, "iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/u"),
    ("s3", "list_buckets", {}, "s3:ListAllMyBuckets", "*"),
    (
        "s3",
        "get_bucket_encryption",
        {"Bucket": "b-{account}"},
        "s3:GetEncryptionConfiguration",
        '"arn:aws:s3:::b-{account}"',
    ),
    (
        "s3",
        "get_object",
        {"Bucket": "b-{account}", "Key": "k", "VersionId": "v1"},
        "s3:GetObjectVersion",
        '"arn:aws:s3:::b-{account}/k"',
    ),
    (
        "s3",
        "get_object_tagging",
        {"Bucket": "b-{account}", "Key": "k"},
        "s3:GetObjectTagging",
        '"arn:aws:s3:::b-{account}/k"',
    ),
]


def _fill(value, account: str):
    if isinstance(value, str):
        return value.replace(ACCOUNT, account)
    if isinstance(value, dict):
        return {k: _fill(v, account) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, account) for v in value]
    return value


@pytest.fixture
def root(account, sandbox):
    """The fresh account's root session; skips unless enforcement is on."""
    if sandbox.enforce != "on":
        pytest.skip(f"the session's sandbox enforces {sandbox.enforce!r}; these need 'on'")
    return account


@pytest.fixture
def nobody(root):
    return role_session(root, "Nobody")


@pytest.mark.parametrize(
    "service, operation, arguments, action, resource", CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES]
)
def test_the_denial_names_the_action_and_resource_aws_authorizes(
    root, nobody, service, operation, arguments, action, resource
):
    if service == "s3":
        root.client("s3").create_bucket(Bucket=_fill("b-{account}", root.account_id))
    client = nobody.client(service)
    error = denied(lambda: getattr(client, operation)(**_fill(arguments, root.account_id)))
    match = DENIAL.search(error.response["Error"]["Message"])
    assert match, error.response["Error"]["Message"]
    assert match.group(1).lower() == action.lower() and (match.group(2) or "*") == _fill(resource, root.account_id)


def test_a_secret_named_without_its_suffix_is_authorized_on_its_full_arn(root, nobody):
    arn = root.client("secretsmanager").create_secret(Name="db", SecretString="s")["ARN"]
    error = denied(lambda: nobody.client("secretsmanager").get_secret_value(SecretId="db"))
    assert f"on resource: {arn} because" in error.response["Error"]["Message"]


def test_creating_a_function_with_a_role_needs_iam_pass_role_on_it(root):
    from lambda_code import zip_code

    target = role_session(root, "FunctionRole") and f"arn:aws:iam::{root.account_id}:role/FunctionRole"
    arguments = {
        "FunctionName": "f",
        "Runtime": "python3.11",
        "Role": target,
        "Handler": "index.handler",
        "Code": {"ZipFile": zip_code("def handler(e, c):\n    return 1\n")},
    }
    deployer = role_session(root, "Deployer", allow("lambda:CreateFunction", "*"))
    error = denied(lambda: deployer.client("lambda").create_function(**arguments))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert f"iam:PassRole on resource: {target} because" in error.response["Error"]["Message"]
    trusted = role_session(root, "TrustedDeployer", allow(["lambda:CreateFunction", "iam:PassRole"], "*"))
    assert trusted.client("lambda").create_function(**arguments)["FunctionName"] == "f"


def test_the_data_api_needs_the_secret_read_as_well(root):
    cluster = f"arn:aws:rds:{REGION}:{root.account_id}:cluster:db"
    secret = f"arn:aws:secretsmanager:{REGION}:{root.account_id}:secret:db-AbCdEf"
    caller = role_session(root, "Reporter", allow("rds-data:ExecuteStatement", cluster))
    error = denied(
        lambda: caller.client("rds-data").execute_statement(resourceArn=cluster, secretArn=secret, sql="select 1")
    )
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"secretsmanager:GetSecretValue on resource: {secret} because" in error.response["Error"]["Message"]


def test_a_copy_needs_get_object_on_its_source(root):
    s3 = root.client("s3")
    bucket = f"copies-{root.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="source", Body=b"x")
    writer = role_session(root, "Writer", allow("s3:PutObject", f"arn:aws:s3:::{bucket}/*"))
    copy = {"Bucket": bucket, "Key": "copy", "CopySource": {"Bucket": bucket, "Key": "source"}}
    error = denied(lambda: writer.client("s3").copy_object(**copy))
    assert f'perform: s3:GetObject on resource: "arn:aws:s3:::{bucket}/source"' in error.response["Error"]["Message"]
    copier = role_session(root, "Copier", allow(["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::{bucket}/*"))
    copier.client("s3").copy_object(**copy)
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"x"


def test_a_batch_delete_answers_access_denied_per_key_without_delete_object(root):
    s3 = root.client("s3")
    bucket = f"batch-{root.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    reader = role_session(root, "Reader", allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    result = reader.client("s3").delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}]})
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("a", "AccessDenied")]
    deleter = role_session(root, "Deleter", allow("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*"))
    assert [
        d["Key"]
        for d in deleter.client("s3").delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}]})["Deleted"]
    ] == ["a"]


@pytest.mark.parametrize("signature", ["s3v4", "s3"])  # X-Amz-Credential, and SigV2's AWSAccessKeyId
def test_a_presigned_url_is_evaluated_as_its_signer(root, signature):
    import urllib.error
    import urllib.request

    from botocore.config import Config

    s3 = root.client("s3")
    bucket = f"shared-{root.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"1,2")
    config = Config(signature_version=signature)
    reader = role_session(root, "Reader", allow("s3:GetObject", f"arn:aws:s3:::{bucket}/report.csv"))
    params = {"Bucket": bucket, "Key": "report.csv"}
    granted = reader.client("s3", config=config).generate_presigned_url("get_object", Params=params)
    # the sessions add the account header before signing, so a SigV4 URL signs it and the request must send it
    header = {"x-moto-account-id": root.account_id}
    with urllib.request.urlopen(urllib.request.Request(granted, headers=header)) as response:  # noqa: S310
        assert response.read() == b"1,2"
    nobody = role_session(root, "Nobody")
    refused = nobody.client("s3", config=config).generate_presigned_url("get_object", Params=params)
    assert ("X-Amz-Credential=" in refused) == (signature == "s3v4")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(refused, headers=header))  # noqa: S310
    assert caught.value.code == 403 and b"assumed-role/Nobody/fn is not authorized" in caught.value.read()
