"""IAM enforcement in the sandbox: each kind in pairs, the granted call works and the same call without its grant
is denied exactly as AWS denies it (error code, HTTP status, message); soft and off modes; the permission record.

Role credentials come from ``sts:AssumeRole`` against the sandbox (the root user of a fresh account assumes a
role that trusts it), sent with the account header, as a function's calls will be.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from awspatterns.sandbox import control
from awspatterns.sandbox.accounts import ACCOUNT_HEADER
from awspatterns.sessions import EndpointSession

REGION = "us-east-1"


# ------------------------------------------------------------------ helpers
def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource, **extra) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def credentials_session(endpoint_url: str, account_id: str, key: str, secret: str, token: str | None = None):
    """A boto3 session with these credentials, addressing ``account_id`` (as the sandbox's sessions do)."""
    session = EndpointSession(
        endpoint_url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=REGION,
    )
    session.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__(ACCOUNT_HEADER, account_id)
    )
    return session


def role_session(root, name: str, *statements: dict[str, Any], managed: tuple[str, ...] = (), session_name: str = "fn"):
    """Create role ``name`` in ``root``'s account with an inline policy of ``statements`` (and ``managed``
    policies attached), assume it, and return a session with its credentials."""
    iam = root.client("iam")
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{root.account_id}:root"},
        "Action": "sts:AssumeRole",
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_document(trust))
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}Policy", PolicyDocument=_document(*statements))
    for arn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    role_arn = f"arn:aws:iam::{root.account_id}:role/{name}"
    credentials = root.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return credentials_session(
        root.endpoint_url,
        root.account_id,
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )


def denied(call) -> ClientError:
    """The error ``call`` raises (it must raise a ClientError)."""
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def implicit(principal: str, action: str, resource: str) -> str:
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def assert_denied(error: ClientError, code: str, status: int, message: str) -> None:
    assert error.response["Error"]["Code"] == code
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.response["Error"]["Message"] == message


def session_arn(root, role: str, session_name: str = "fn") -> str:
    return f"arn:aws:sts::{root.account_id}:assumed-role/{role}/{session_name}"


@pytest.fixture
def root(account, sandbox):
    """The fresh account's session (placeholder credentials: its root user); skips unless enforcement is on."""
    if sandbox.enforce != "on":
        pytest.skip(f"the session's sandbox enforces {sandbox.enforce!r}; these pairs need 'on'")
    return account


@pytest.fixture
def queues(root):
    sqs = root.client("sqs")
    return {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("granted", "other")}


def queue_arn(root, name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{root.account_id}:{name}"


# ------------------------------------------------------------------ a role allowed one action on one resource
def test_a_role_allowed_to_send_to_one_queue_can_send_to_it(root, queues):
    role = role_session(root, "Sender", allow("sqs:SendMessage", queue_arn(root, "granted")))
    assert role.client("sqs").send_message(QueueUrl=queues["granted"], MessageBody="hello")["MessageId"]
    received = root.client("sqs").receive_message(QueueUrl=queues["granted"])["Messages"]
    assert [m["Body"] for m in received] == ["hello"]


def test_the_same_role_is_denied_another_queue_purging_and_s3_as_aws_denies_them(root, queues):
    role = role_session(root, "Sender", allow("sqs:SendMessage", queue_arn(root, "granted")))
    sqs = role.client("sqs")
    me = session_arn(root, "Sender")

    error = denied(lambda: sqs.send_message(QueueUrl=queues["other"], MessageBody="x"))
    # SQS names the action in lower case
    assert_denied(error, "AccessDenied", 403, implicit(me, "sqs:sendmessage", queue_arn(root, "other")))

    error = denied(lambda: sqs.purge_queue(QueueUrl=queues["granted"]))
    assert_denied(error, "AccessDenied", 403, implicit(me, "sqs:purgequeue", queue_arn(root, "granted")))

    root.client("s3").create_bucket(Bucket=f"uploads-{root.account_id}")
    error = denied(lambda: role.client("s3").put_object(Bucket=f"uploads-{root.account_id}", Key="a.txt", Body=b"x"))
    # S3 quotes the resource
    resource = f'"arn:aws:s3:::uploads-{root.account_id}/a.txt"'
    assert_denied(error, "AccessDenied", 403, implicit(me, "s3:PutObject", resource))
    assert root.client("sqs").receive_message(QueueUrl=queues["other"]).get("Messages") is None


def test_batch_operations_are_authorized_as_their_single_action(root, queues):
    role = role_session(root, "Sender", allow("sqs:SendMessage", queue_arn(root, "granted")))
    entries = [{"Id": "1", "MessageBody": "a"}]
    assert role.client("sqs").send_message_batch(QueueUrl=queues["granted"], Entries=entries)["Successful"]
    error = denied(lambda: role.client("sqs").send_message_batch(QueueUrl=queues["other"], Entries=entries))
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert "sqs:sendmessage on resource" in error.response["Error"]["Message"]


# ------------------------------------------------------------------ explicit Deny
def test_an_explicit_deny_beats_an_allow_and_names_its_managed_policy(root, queues):
    iam = root.client("iam")
    no_purge = iam.create_policy(PolicyName="NoPurge", PolicyDocument=_document(deny("sqs:PurgeQueue", "*")))
    role = role_session(root, "Worker", allow("sqs:*", "*"), managed=(no_purge["Policy"]["Arn"],))
    sqs = role.client("sqs")

    sqs.send_message(QueueUrl=queues["granted"], MessageBody="allowed by sqs:*")
    error = denied(lambda: sqs.purge_queue(QueueUrl=queues["granted"]))
    message = (
        f"User: {session_arn(root, 'Worker')} is not authorized to perform: sqs:purgequeue on resource: "
        f"{queue_arn(root, 'granted')} with an explicit deny in an identity-based policy: {no_purge['Policy']['Arn']}"
    )
    assert_denied(error, "AccessDenied", 403, message)


def test_an_explicit_deny_in_an_inline_policy_names_no_policy(root, queues):
    role = role_session(root, "Worker", allow("sqs:*", "*"), deny("sqs:DeleteQueue", queue_arn(root, "granted")))
    role.client("sqs").delete_queue(QueueUrl=queues["other"])
    error = denied(lambda: role.client("sqs").delete_queue(QueueUrl=queues["granted"]))
    assert error.response["Error"]["Message"].endswith(
        f"on resource: {queue_arn(root, 'granted')} with an explicit deny in an identity-based policy"
    )


def test_not_action_allows_everything_else(root, queues):
    role = role_session(root, "Worker", {"Effect": "Allow", "NotAction": "sqs:PurgeQueue", "Resource": "*"})
    role.client("sqs").send_message(QueueUrl=queues["granted"], MessageBody="x")
    assert denied(lambda: role.client("sqs").purge_queue(QueueUrl=queues["granted"])).response["Error"]["Code"] == (
        "AccessDenied"
    )


# ------------------------------------------------------------------ resource-scoped DynamoDB grants
@pytest.fixture
def orders(root):
    dynamodb = root.client("dynamodb")
    for name in ("Orders", "Audit"):
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "status")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByStatus",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    return f"arn:aws:dynamodb:{REGION}:{root.account_id}:table/Orders"


def by_status(dynamodb, table: str = "Orders"):
    return dynamodb.query(
        TableName=table,
        IndexName="ByStatus",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "new"}},
    )


def test_a_table_grant_allows_the_table_and_an_index_grant_its_indexes(root, orders):
    role = role_session(root, "Reader", allow(["dynamodb:PutItem", "dynamodb:Query"], [orders, f"{orders}/index/*"]))
    dynamodb = role.client("dynamodb")
    dynamodb.put_item(TableName="Orders", Item={"pk": {"S": "1"}, "status": {"S": "new"}})
    assert by_status(dynamodb)["Count"] == 1


def test_without_the_index_grant_a_query_on_the_index_is_denied_and_other_tables_are_too(root, orders):
    role = role_session(root, "Reader", allow(["dynamodb:PutItem", "dynamodb:Query"], orders))
    dynamodb = role.client("dynamodb")
    me = session_arn(root, "Reader")
    error = denied(lambda: by_status(dynamodb))
    assert_denied(error, "AccessDeniedException", 400, implicit(me, "dynamodb:Query", f"{orders}/index/ByStatus"))
    error = denied(lambda: dynamodb.put_item(TableName="Audit", Item={"pk": {"S": "1"}}))
    audit = orders.replace("table/Orders", "table/Audit")
    assert_denied(error, "AccessDeniedException", 400, implicit(me, "dynamodb:PutItem", audit))


def test_a_batch_write_needs_the_grant_on_every_table_it_writes(root, orders):
    role = role_session(root, "Writer", allow("dynamodb:BatchWriteItem", orders))
    dynamodb = role.client("dynamodb")
    put = {"PutRequest": {"Item": {"pk": {"S": "1"}}}}
    dynamodb.batch_write_item(RequestItems={"Orders": [put]})
    error = denied(lambda: dynamodb.batch_write_item(RequestItems={"Orders": [put], "Audit": [put]}))
    assert (
        "dynamodb:BatchWriteItem on resource: " + orders.replace("Orders", "Audit")
        in error.response["Error"]["Message"]
    )


# ------------------------------------------------------------------ AWS-managed policies
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def test_an_aws_managed_policy_attached_to_a_role_grants_what_it_says(root):
    role = role_session(root, "Function", managed=(BASIC_EXECUTION,))
    logs = role.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/fn")
    logs.create_log_stream(logGroupName="/aws/lambda/fn", logStreamName="s")
    logs.put_log_events(logGroupName="/aws/lambda/fn", logStreamName="s", logEvents=[{"timestamp": 1, "message": "m"}])
    attached = root.client("iam").list_attached_role_policies(RoleName="Function")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [BASIC_EXECUTION]


def test_an_aws_managed_policy_grants_nothing_beyond_it(root):
    role = role_session(root, "Function", managed=(BASIC_EXECUTION,))
    error = denied(lambda: role.client("logs").delete_log_group(logGroupName="/aws/lambda/fn"))
    resource = f"arn:aws:logs:{REGION}:{root.account_id}:log-group:/aws/lambda/fn:log-stream:"
    assert_denied(
        error, "AccessDeniedException", 400, implicit(session_arn(root, "Function"), "logs:DeleteLogGroup", resource)
    )


ROLE_TEMPLATE = {
    "Resources": {
        "FunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "StackFunctionRole",
                "AssumeRolePolicyDocument": json.loads(
                    _document(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    )
                ),
                "ManagedPolicyArns": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}
                ],
            },
        }
    }
}


def test_cloudformation_roles_get_their_managed_policy_arns_and_are_deleted_with_them(root):
    cloudformation = root.client("cloudformation")
    stack = cloudformation.create_stack(
        StackName="Roles", TemplateBody=json.dumps(ROLE_TEMPLATE), Capabilities=["CAPABILITY_NAMED_IAM"]
    )["StackId"]
    iam = root.client("iam")
    attached = iam.list_attached_role_policies(RoleName="StackFunctionRole")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaVPCAccessExecutionRole"]
    cloudformation.delete_stack(StackName="Roles")
    assert cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert "StackFunctionRole" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}


# ------------------------------------------------------------------ IAM users
def user_session(root, name: str, *statements: dict[str, Any], group_statements: tuple[dict[str, Any], ...] = ()):
    iam = root.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="Own", PolicyDocument=_document(*statements))
    if group_statements:
        iam.create_group(GroupName=f"{name}-group")
        iam.put_group_policy(
            GroupName=f"{name}-group", PolicyName="Shared", PolicyDocument=_document(*group_statements)
        )
        iam.add_user_to_group(GroupName=f"{name}-group", UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return credentials_session(root.endpoint_url, root.account_id, key["AccessKeyId"], key["SecretAccessKey"])


def test_an_iam_users_access_keys_get_the_users_and_its_groups_permissions(root):
    bucket = f"reports-{root.account_id}"
    root.client("s3").create_bucket(Bucket=bucket)
    root.client("s3").put_object(Bucket=bucket, Key="q1.csv", Body=b"1")
    alice = user_session(
        root,
        "alice",
        allow("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
        group_statements=(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*"),),
    )
    s3 = alice.client("s3")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["q1.csv"]
    assert s3.get_object(Bucket=bucket, Key="q1.csv")["Body"].read() == b"1"
    assert alice.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{root.account_id}:user/alice"


def test_an_iam_users_access_keys_are_denied_what_the_user_is_not_granted(root):
    bucket = f"reports-{root.account_id}"
    root.client("s3").create_bucket(Bucket=bucket)
    bob = user_session(root, "bob", allow("s3:ListBucket", f"arn:aws:s3:::{bucket}"))
    error = denied(lambda: bob.client("s3").put_object(Bucket=bucket, Key="x", Body=b"x"))
    user = f"arn:aws:iam::{root.account_id}:user/bob"
    assert_denied(error, "AccessDenied", 403, implicit(user, "s3:PutObject", f'"arn:aws:s3:::{bucket}/x"'))


# ------------------------------------------------------------------ conditions
def test_conditions_the_sandbox_evaluates_allow_when_they_hold(root, queues):
    role = role_session(
        root,
        "Conditional",
        allow(
            "sqs:SendMessage",
            "*",
            Condition={
                "Bool": {"aws:SecureTransport": "true"},
                "StringEquals": {"aws:PrincipalAccount": root.account_id, "aws:ResourceAccount": root.account_id},
                "ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:never"},
                "Null": {"aws:SourceAccount": "true"},
            },
        ),
        # TLS-only statements keep their meaning: the sandbox endpoint counts as TLS
        deny("sqs:*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
    )
    role.client("sqs").send_message(QueueUrl=queues["granted"], MessageBody="x")


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceAccount": "{account}"}},  # only services calling on a resource's behalf send it
        {"StringNotEquals": {"aws:ResourceAccount": "{account}"}},
    ],
)
def test_a_condition_that_does_not_hold_grants_nothing(root, queues, sandbox, condition):
    condition = json.loads(json.dumps(condition).replace("{account}", root.account_id))
    role = role_session(root, "Conditional", allow("sqs:SendMessage", "*", Condition=condition))
    error = denied(lambda: role.client("sqs").send_message(QueueUrl=queues["granted"], MessageBody="x"))
    assert error.response["Error"]["Message"].endswith(
        "because no identity-based policy allows the sqs:sendmessage action"
    )
    assert "cannot evaluate" not in _log_line(sandbox, session_arn(root, "Conditional"), "sqs:SendMessage")


def test_s3_resource_account_is_the_account_holding_the_bucket(root):
    bucket = f"staging-{root.account_id}"
    root.client("s3").create_bucket(Bucket=bucket)
    own = {"StringEquals": {"s3:ResourceAccount": root.account_id}}
    role = role_session(root, "Publisher", allow("s3:PutObject", "*", Condition=own))
    role.client("s3").put_object(Bucket=bucket, Key="asset.zip", Body=b"x")
    foreign = {"StringNotEquals": {"s3:ResourceAccount": root.account_id}}
    other = role_session(root, "CrossAccountOnly", allow("s3:PutObject", "*", Condition=foreign))
    assert denied(lambda: other.client("s3").put_object(Bucket=bucket, Key="a", Body=b"x")).response["Error"][
        "Code"
    ] == ("AccessDenied")


def test_a_condition_the_sandbox_cannot_evaluate_denies_and_says_so_in_the_log(root, sandbox, queues):
    role = role_session(
        root,
        "OfficeOnly",
        allow("sqs:SendMessage", "*", Sid="FromTheOffice", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
    )
    error = denied(lambda: role.client("sqs").send_message(QueueUrl=queues["granted"], MessageBody="x"))
    assert error.response["Error"]["Code"] == "AccessDenied"
    line = _log_line(sandbox, session_arn(root, "OfficeOnly"), "sqs:SendMessage")
    assert 'cannot evaluate Allow Sid "FromTheOffice" of inline policy OfficeOnlyPolicy of role OfficeOnly' in line
    assert "condition IpAddress on key aws:SourceIp" in line


def test_an_unevaluable_condition_in_a_deny_denies_even_what_is_allowed(root, sandbox, queues):
    role = role_session(
        root,
        "Tagged",
        allow("sqs:*", "*"),
        deny("sqs:SendMessage", "*", Condition={"StringEquals": {"aws:ResourceTag/stage": "prod"}}),
    )
    error = denied(lambda: role.client("sqs").send_message(QueueUrl=queues["granted"], MessageBody="x"))
    assert "with an explicit deny in an identity-based policy" in error.response["Error"]["Message"]
    assert "condition StringEquals on key aws:ResourceTag/stage" in _log_line(
        sandbox, session_arn(root, "Tagged"), "sqs"
    )


def _log_line(info, principal: str, action: str) -> str:
    lines = [line for line in info.log_file.read_text().splitlines() if f"IAM denied {principal} {action}" in line]
    assert lines, f"no denial of {principal} {action} in {info.log_file}"
    return str(lines[-1])


# ------------------------------------------------------------------ root and unknown credentials
def test_placeholder_credentials_act_as_the_accounts_root_user(root, queues):
    role_session(root, "Unused", deny("*", "*"))  # nothing a role is denied applies to root
    sqs = root.client("sqs")
    sqs.send_message(QueueUrl=queues["other"], MessageBody="x")
    sqs.purge_queue(QueueUrl=queues["other"])
    assert root.client("sts").get_caller_identity()["Account"] == root.account_id


@pytest.mark.parametrize("key", ["testing", "AKIAIOSFODNN7EXAMPLE"])
def test_access_keys_moto_does_not_know_act_as_root_too(root, queues, key):
    stranger = credentials_session(root.endpoint_url, root.account_id, key, "secret")
    stranger.client("sqs").purge_queue(QueueUrl=queues["granted"])


# ------------------------------------------------------------------ the record of decisions
def test_every_decision_is_recorded_per_role_with_its_resource_and_count(root, sandbox, queues):
    role = role_session(root, "Sender", allow("sqs:SendMessage", queue_arn(root, "granted")))
    sqs = role.client("sqs")
    sqs.send_message(QueueUrl=queues["granted"], MessageBody="1")
    sqs.send_message(QueueUrl=queues["granted"], MessageBody="2")
    denied(lambda: sqs.purge_queue(QueueUrl=queues["granted"]))
    root.client("sqs").purge_queue(QueueUrl=queues["other"])  # root: not recorded

    record = sandbox.permissions(root.account_id)
    assert record == {
        f"arn:aws:iam::{root.account_id}:role/Sender": [
            {"action": "sqs:PurgeQueue", "resource": queue_arn(root, "granted"), "decision": "denied", "count": 1},
            {"action": "sqs:SendMessage", "resource": queue_arn(root, "granted"), "decision": "allowed", "count": 2},
        ]
    }
    assert f"arn:aws:iam::{root.account_id}:role/Sender" in sandbox.permissions()


# ------------------------------------------------------------------ soft and off modes
@pytest.fixture
def other_home(tmp_path):
    home = tmp_path / "home"
    yield home
    control.stop(home)


def _setup_sender(info) -> tuple[Any, str, Any]:
    root = info.session("main")
    url = root.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
    return role_session(root, "Sender", allow("sqs:SendMessage", "*")), url, root


def test_soft_mode_allows_what_it_would_deny_and_logs_and_records_it(other_home: Path):
    info = control.start(other_home, enforce="soft")
    assert info.enforce == "soft"
    role, url, root = _setup_sender(info)
    role.client("sqs").purge_queue(QueueUrl=url)  # would be denied: let through
    line = _log_line_soft(info)
    assert f"IAM would deny (soft mode: allowed) {session_arn(root, 'Sender')} sqs:PurgeQueue" in line
    assert "no identity-based policy allows it (policies: inline policy SenderPolicy of role Sender)" in line
    decisions = {
        (e["action"], e["decision"]) for e in info.permissions("main")[f"arn:aws:iam::{root.account_id}:role/Sender"]
    }
    assert decisions == {("sqs:PurgeQueue", "soft-denied")}


def _log_line_soft(info) -> str:
    lines = [line for line in info.log_file.read_text().splitlines() if "IAM would deny" in line]
    assert len(lines) == 1, lines
    return str(lines[0])


def test_off_mode_neither_evaluates_nor_logs(other_home: Path):
    info = control.start(other_home, enforce="off")
    role, url, _ = _setup_sender(info)
    role.client("sqs").purge_queue(QueueUrl=url)
    role.client("s3").list_buckets()
    assert "IAM " not in info.log_file.read_text()
    assert info.permissions() == {}


# ------------------------------------------------------------------ the error shapes of other services
def test_sns_lambda_and_kms_deny_with_their_own_codes(root):
    topic = root.client("sns").create_topic(Name="events")["TopicArn"]
    other = root.client("sns").create_topic(Name="other")["TopicArn"]
    key = root.client("kms").create_key()["KeyMetadata"]["Arn"]
    root.client("kms").create_alias(AliasName="alias/app", TargetKeyId=key)
    function = f"arn:aws:lambda:{REGION}:{root.account_id}:function:handler"
    role = role_session(root, "Publisher", allow("sns:Publish", topic), allow("kms:Encrypt", key))
    me = session_arn(root, "Publisher")

    role.client("sns").publish(TopicArn=topic, Message="x")
    error = denied(lambda: role.client("sns").publish(TopicArn=other, Message="x"))
    assert_denied(error, "AuthorizationError", 403, implicit(me, "SNS:Publish", other))  # SNS upper-cases its prefix

    blob = role.client("kms").encrypt(KeyId="alias/app", Plaintext=b"secret")["CiphertextBlob"]  # alias -> key
    error = denied(lambda: role.client("kms").decrypt(CiphertextBlob=blob))  # the key read from the ciphertext
    assert_denied(error, "AccessDeniedException", 400, implicit(me, "kms:Decrypt", key))

    error = denied(lambda: role.client("lambda").invoke(FunctionName="handler"))
    assert_denied(error, "AccessDeniedException", 403, implicit(me, "lambda:InvokeFunction", function))
    error = denied(lambda: role.client("lambda").invoke(FunctionName="handler", Qualifier="live"))
    assert error.response["Error"]["Message"] == implicit(me, "lambda:InvokeFunction", f"{function}:live")


def test_assuming_a_role_needs_sts_assume_role_on_it(root):
    target = f"arn:aws:iam::{root.account_id}:role/Target"
    role_session(root, "Target")
    hopper = role_session(root, "Hopper", allow("sts:AssumeRole", target))
    assert (
        hopper.client("sts")
        .assume_role(RoleArn=target, RoleSessionName="hop")["AssumedRoleUser"]["Arn"]
        .endswith("assumed-role/Target/hop")
    )
    stuck = role_session(root, "Stuck", allow("sqs:*", "*"))
    error = denied(lambda: stuck.client("sts").assume_role(RoleArn=target, RoleSessionName="hop"))
    assert_denied(error, "AccessDenied", 403, implicit(session_arn(root, "Stuck"), "sts:AssumeRole", target))
    # and GetCallerIdentity needs no permission at all, as in AWS
    assert stuck.client("sts").get_caller_identity()["Arn"] == session_arn(root, "Stuck")


MESSAGE = re.compile(
    r"^User: arn:aws:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+ is not authorized to perform: (\S+)"
    r"(?: on resource: \S+)? because no identity-based policy allows the \1 action$"
)


def test_every_message_has_awss_shape(root, queues):
    role = role_session(root, "Nothing")
    for call in (
        lambda: role.client("sqs").send_message(QueueUrl=queues["granted"], MessageBody="x"),
        lambda: role.client("dynamodb").list_tables(),
        lambda: role.client("events").put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]),
        lambda: role.client("secretsmanager").get_secret_value(SecretId="db"),
    ):
        assert MESSAGE.match(denied(call).response["Error"]["Message"])
