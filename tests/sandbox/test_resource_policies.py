"""Resource policies in the sandbox, in pairs: the call or delivery a bucket, queue, topic, function or key policy
admits works, and the same without its statement (or with the wrong source or account) is refused as AWS refuses
it: for IAM principals with the service's access denied answer, for service deliveries where AWS surfaces the
refusal (bucket notification validation, the subscription's or target's dead-letter queue, the server log)."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from lambda_code import RECORDER, admit, create_function, drain, output_queue, queue_arn
from test_iam_enforcement import allow, assert_denied, credentials_session, denied, deny, role_session

REGION = "us-east-1"
_accounts = itertools.count(random.randint(8 * 10**11, 9 * 10**11))


@pytest.fixture
def root(account, sandbox):
    """The fresh account's root session; skips unless enforcement is on."""
    if sandbox.enforce != "on":
        pytest.skip(f"the session's sandbox enforces {sandbox.enforce!r}; these pairs need 'on'")
    return account


@pytest.fixture
def other(sandbox, root):
    """A second fresh account (any 12-digit id is an account in the sandbox)."""
    return sandbox.session(str(next(_accounts)))


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def session_arn(session, role: str) -> str:
    return f"arn:aws:sts::{session.account_id}:assumed-role/{role}/fn"


def foreign_role(home, target, name: str, *statements):
    """A role of ``home``'s account, assumed there, whose session addresses ``target``'s account (as a caller
    from another account names a resource there)."""
    role_session(home, name, *statements)
    credentials = home.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{home.account_id}:role/{name}", RoleSessionName="fn"
    )["Credentials"]
    return credentials_session(
        home.endpoint_url,
        target.account_id,
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )


def log_lines(sandbox, *words: str) -> list[str]:
    return [line for line in sandbox.log_file.read_text().splitlines() if all(w in line for w in words)]


# ------------------------------------------------------------------ IAM principals: S3 bucket policies
@pytest.fixture
def bucket(root):
    name = f"respol-{root.account_id}"
    s3 = root.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="report.csv", Body=b"a,b")
    return name


def test_a_bucket_policy_naming_a_role_lets_it_read_in_its_own_account(root, bucket):
    reader = role_session(root, "Reader")  # no identity policy at all
    role_arn = f"arn:aws:iam::{root.account_id}:role/Reader"
    root.client("s3").put_bucket_policy(
        Bucket=bucket,
        Policy=policy(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*", Principal={"AWS": role_arn})),
    )
    assert reader.client("s3").get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"a,b"


def test_without_the_bucket_statement_the_role_is_denied(root, bucket):
    reader = role_session(root, "Reader")
    error = denied(lambda: reader.client("s3").get_object(Bucket=bucket, Key="report.csv"))
    assert_denied(
        error,
        "AccessDenied",
        403,
        f"User: {session_arn(root, 'Reader')} is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{bucket}/report.csv" because no identity-based policy allows the s3:GetObject action',
    )


def test_a_bucket_policy_deny_beats_an_identity_allow_and_stops_root_too(root, bucket):
    writer = role_session(root, "Writer", allow("s3:*", "*"))
    root.client("s3").put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            deny("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*", Principal="*", Sid="KeepReports"),
            # CDK's TLS-only statement: the sandbox endpoint counts as TLS, so it denies nothing here
            deny(
                "s3:*",
                f"arn:aws:s3:::{bucket}/*",
                Principal={"AWS": "*"},
                Condition={"Bool": {"aws:SecureTransport": "false"}},
            ),
        ),
    )
    writer.client("s3").put_object(Bucket=bucket, Key="new.csv", Body=b"x")
    error = denied(lambda: writer.client("s3").delete_object(Bucket=bucket, Key="report.csv"))
    assert error.response["Error"]["Message"].endswith("with an explicit deny in a resource-based policy")
    error = denied(lambda: root.client("s3").delete_object(Bucket=bucket, Key="report.csv"))
    assert error.response["Error"]["Code"] == "AccessDenied"


def test_a_deny_naming_the_account_root_applies_to_its_root_user(root, bucket):
    root.client("s3").put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            deny("s3:GetObject", f"arn:aws:s3:::{bucket}/*", Principal={"AWS": f"arn:aws:iam::{root.account_id}:root"})
        ),
    )
    assert (
        denied(lambda: root.client("s3").get_object(Bucket=bucket, Key="report.csv")).response["Error"]["Code"]
        == "AccessDenied"
    )


# ------------------------------------------------------------------ IAM principals across accounts
def test_cross_account_send_needs_the_queue_policy_and_the_identity_policy(root, other):
    url = root.client("sqs").create_queue(QueueName="inbox")["QueueUrl"]
    arn = queue_arn(root, url)
    sender = foreign_role(other, root, "Sender", allow("sqs:SendMessage", arn))
    root.client("sqs").set_queue_attributes(
        QueueUrl=url,
        Attributes={"Policy": policy(allow("sqs:SendMessage", arn, Principal={"AWS": other.account_id}))},
    )
    sender.client("sqs").send_message(QueueUrl=url, MessageBody="hello")
    assert [m["Body"] for m in root.client("sqs").receive_message(QueueUrl=url)["Messages"]] == ["hello"]


def test_cross_account_send_without_the_queue_policy_is_denied(root, other):
    url = root.client("sqs").create_queue(QueueName="inbox")["QueueUrl"]
    arn = queue_arn(root, url)
    sender = foreign_role(other, root, "Sender", allow("sqs:SendMessage", arn))
    error = denied(lambda: sender.client("sqs").send_message(QueueUrl=url, MessageBody="hello"))
    assert_denied(
        error,
        "AccessDenied",
        403,
        f"User: {session_arn(other, 'Sender')} is not authorized to perform: sqs:sendmessage on resource: {arn} "
        "because no resource-based policy allows the sqs:sendmessage action",
    )


def test_cross_account_needs_the_identity_policy_too(root, other):
    url = root.client("sqs").create_queue(QueueName="inbox")["QueueUrl"]
    arn = queue_arn(root, url)
    sender = foreign_role(other, root, "Sender")  # no identity grant
    root.client("sqs").set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": policy(allow("sqs:SendMessage", arn, Principal={"AWS": other.account_id}))}
    )
    error = denied(lambda: sender.client("sqs").send_message(QueueUrl=url, MessageBody="hello"))
    assert "because no identity-based policy allows" in error.response["Error"]["Message"]


def test_a_topic_policy_admits_a_publisher_from_another_account_and_only_it(root, other, sandbox):
    topic = root.client("sns").create_topic(Name="alerts")["TopicArn"]
    granted = foreign_role(other, root, "Publisher", allow("sns:Publish", topic))
    third = sandbox.session(str(next(_accounts)))
    refused = foreign_role(third, root, "Publisher", allow("sns:Publish", topic))
    root.client("sns").set_topic_attributes(
        TopicArn=topic,
        AttributeName="Policy",
        AttributeValue=policy(allow("sns:Publish", topic, Principal={"AWS": f"arn:aws:iam::{other.account_id}:root"})),
    )
    granted.client("sns").publish(TopicArn=topic, Message="hi")
    error = denied(lambda: refused.client("sns").publish(TopicArn=topic, Message="hi"))
    assert_denied(
        error,
        "AuthorizationError",
        403,
        f"User: {session_arn(third, 'Publisher')} is not authorized to perform: SNS:Publish on resource: {topic} "
        "because no resource-based policy allows the SNS:Publish action",
    )


def test_a_function_permission_lets_another_account_invoke_and_its_absence_denies(root, other):
    function = create_function(root, "shared", RECORDER, environment={"OUTPUT": output_queue(root)})
    invoker = foreign_role(other, root, "Invoker", allow("lambda:InvokeFunction", function))
    error = denied(lambda: invoker.client("lambda").invoke(FunctionName=function, Payload=b"{}"))
    assert_denied(
        error,
        "AccessDeniedException",
        403,
        f"User: {session_arn(other, 'Invoker')} is not authorized to perform: lambda:InvokeFunction on resource: "
        f"{function} because no resource-based policy allows the lambda:InvokeFunction action",
    )
    root.client("lambda").add_permission(
        FunctionName=function, StatementId="other", Action="lambda:InvokeFunction", Principal=other.account_id
    )
    assert invoker.client("lambda").invoke(FunctionName=function, Payload=b"{}")["StatusCode"] == 200


# ------------------------------------------------------------------ KMS key policies
def key_with(root, *statements) -> str:
    return str(root.client("kms").create_key(Policy=policy(*statements))["KeyMetadata"]["Arn"])


def test_a_key_policy_delegating_to_the_account_lets_the_identity_policy_decide(root):
    key = key_with(root, allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{root.account_id}:root"}))
    worker = role_session(root, "Worker", allow("kms:Encrypt", key))
    assert worker.client("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]


def test_without_the_key_policy_delegation_even_an_identity_grant_is_denied(root):
    admin = f"arn:aws:iam::{root.account_id}:role/KeyAdmin"
    role_session(root, "KeyAdmin")
    key = key_with(root, allow("kms:*", "*", Principal={"AWS": admin}))
    worker = role_session(root, "Worker", allow("kms:*", "*"))
    error = denied(lambda: worker.client("kms").encrypt(KeyId=key, Plaintext=b"x"))
    assert_denied(
        error,
        "AccessDeniedException",
        400,
        f"User: {session_arn(root, 'Worker')} is not authorized to perform: kms:Encrypt on resource: {key} "
        "because no resource-based policy allows the kms:Encrypt action",
    )


# ------------------------------------------------------------------ S3 notifications
def test_s3_notifications_to_a_queue_that_admits_the_bucket_are_validated_and_delivered(root, bucket):
    url = output_queue(root, "events")
    admit(root, url, "s3", f"arn:aws:s3:::{bucket}")
    root.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn(root, url), "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    drain(root, url)  # S3's test event
    root.client("s3").put_object(Bucket=bucket, Key="in.txt", Body=b"x")
    assert [e["Records"][0]["s3"]["object"]["key"] for e in drain(root, url)] == ["in.txt"]


@pytest.mark.parametrize("grant", [None, ("s3", "arn:aws:s3:::some-other-bucket"), ("sns", "the bucket")])
def test_s3_notifications_to_a_queue_that_does_not_admit_the_bucket_fail_validation(root, bucket, grant):
    url = output_queue(root, "events")
    if grant:  # a statement for another bucket, or for another service
        admit(root, url, grant[0], f"arn:aws:s3:::{bucket}" if grant[1] == "the bucket" else grant[1])
    error = denied(
        lambda: root.client("s3").put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": queue_arn(root, url), "Events": ["s3:ObjectCreated:*"]}]
            },
        )
    )
    assert error.response["Error"]["Code"] == "InvalidArgument"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Message"] == "Unable to validate the following destination configurations"


def test_s3_notifications_to_a_function_and_a_topic_are_validated_too(root, bucket):
    topic = root.client("sns").create_topic(Name="uploads")["TopicArn"]
    function = create_function(root, "on-upload", RECORDER, environment={"OUTPUT": output_queue(root)})
    for destination in (
        {"TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]},
        {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": function, "Events": ["s3:ObjectCreated:*"]}]},
    ):
        error = denied(
            lambda config=destination: root.client("s3").put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration=config
            )
        )
        assert error.response["Error"]["Code"] == "InvalidArgument"
        admit(root, topic if "TopicConfigurations" in destination else function, "s3", f"arn:aws:s3:::{bucket}")
        root.client("s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=destination)


def test_a_delivery_refused_after_validation_is_dropped_and_logged(root, bucket, sandbox, quiesce):
    url = output_queue(root, "events")
    admit(root, url, "s3", f"arn:aws:s3:::{bucket}")
    root.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn(root, url), "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    drain(root, url)
    root.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})  # the grant is removed
    root.client("s3").put_object(Bucket=bucket, Key="late.txt", Body=b"x")
    assert quiesce()
    assert drain(root, url) == []
    [line] = log_lines(sandbox, "IAM refused s3.amazonaws.com sqs:SendMessage", queue_arn(root, url))
    assert f"for arn:aws:s3:::{bucket}: no resource-based policy allows it" in line


# ------------------------------------------------------------------ SNS subscriptions
def test_sns_delivers_to_a_queue_whose_policy_admits_the_topic(root, quiesce):
    topic = root.client("sns").create_topic(Name="events")["TopicArn"]
    url = output_queue(root, "subscriber")
    admit(root, url, "sns", topic)
    root.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(root, url), Attributes={"RawMessageDelivery": "true"}
    )
    root.client("sns").publish(TopicArn=topic, Message='{"n": 1}')
    assert quiesce()
    assert drain(root, url) == [{"n": 1}]


@pytest.mark.parametrize("source", [None, "wrong-topic"])
def test_sns_refused_by_a_queue_goes_to_the_subscriptions_dlq(root, quiesce, sandbox, source):
    sns = root.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    url, dlq = output_queue(root, "subscriber"), output_queue(root, "subscriber-dlq")
    if source:
        admit(root, url, "sns", topic.replace(":events", ":other"))
    admit(root, dlq, "sns", topic)  # SNS moves refused messages only into a DLQ that admits it
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn(root, url),
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn(root, dlq)})},
    )
    sns.publish(TopicArn=topic, Message="m")
    assert quiesce()
    assert drain(root, url) == []
    [dead] = drain(root, dlq)
    assert dead["Message"] == "m" and dead["TopicArn"] == topic
    assert log_lines(sandbox, "IAM refused sns.amazonaws.com sqs:SendMessage", queue_arn(root, url))


def test_sns_invokes_a_function_whose_policy_admits_the_topic_and_only_then(root, quiesce, sandbox):
    sns = root.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    output = output_queue(root)
    function = create_function(root, "subscriber", RECORDER, environment={"OUTPUT": output})
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)
    sns.publish(TopicArn=topic, Message="refused")
    assert quiesce()
    assert drain(root, output) == []
    assert log_lines(sandbox, "IAM refused sns.amazonaws.com lambda:InvokeFunction", function, topic)
    admit(root, function, "sns", topic)
    sns.publish(TopicArn=topic, Message="admitted")
    assert quiesce()
    assert [e["Records"][0]["Sns"]["Message"] for e in drain(root, output)] == ["admitted"]


# ------------------------------------------------------------------ EventBridge targets
def rule(root) -> str:
    events = root.client("events")
    return str(events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["orders"]}))["RuleArn"])


def put_order(root) -> None:
    root.client("events").put_events(Entries=[{"Source": "orders", "DetailType": "Order", "Detail": "{}"}])


def test_eventbridge_delivers_to_queues_and_functions_that_admit_the_rule(root, quiesce):
    rule_arn = rule(root)
    url, output = output_queue(root, "orders"), output_queue(root)
    function = create_function(root, "on-order", RECORDER, environment={"OUTPUT": output})
    admit(root, url, "events", rule_arn)
    admit(root, function, "events", rule_arn)
    root.client("events").put_targets(
        Rule="orders", Targets=[{"Id": "q", "Arn": queue_arn(root, url)}, {"Id": "fn", "Arn": function}]
    )
    put_order(root)
    assert quiesce()
    assert len(drain(root, url)) == 1 and len(drain(root, output)) == 1


def test_eventbridge_targets_that_do_not_admit_the_rule_send_it_to_the_dlq_with_no_permissions(root, quiesce):
    rule(root)
    url, output, dlq = output_queue(root, "orders"), output_queue(root), output_queue(root, "rule-dlq")
    function = create_function(root, "on-order", RECORDER, environment={"OUTPUT": output})
    dead_letter = {"Arn": queue_arn(root, dlq)}
    admit(root, url, "events", f"arn:aws:events:{REGION}:{root.account_id}:rule/another")
    admit(root, dlq, "events", f"arn:aws:events:{REGION}:{root.account_id}:rule/orders")  # the DLQ admits the rule
    root.client("events").put_targets(
        Rule="orders",
        Targets=[
            {"Id": "q", "Arn": queue_arn(root, url), "DeadLetterConfig": dead_letter},
            {"Id": "fn", "Arn": function, "DeadLetterConfig": dead_letter},
        ],
    )
    put_order(root)
    assert quiesce()
    assert drain(root, url) == [] and drain(root, output) == []
    messages = root.client("sqs").receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    codes = {
        m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: m["MessageAttributes"]["ERROR_CODE"]["StringValue"]
        for m in messages["Messages"]
    }
    assert codes == {queue_arn(root, url): "NO_PERMISSIONS", function: "NO_PERMISSIONS"}


# ------------------------------------------------------------------ KMS for encrypted topics
def encrypted_topic_for(root, bucket, *key_statements) -> tuple[str, str]:
    key = key_with(
        root, allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{root.account_id}:root"}), *key_statements
    )
    sns = root.client("sns")
    topic = sns.create_topic(Name="uploads", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    admit(root, topic, "s3", f"arn:aws:s3:::{bucket}")
    url = output_queue(root, "subscriber")
    admit(root, url, "sns", topic)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(root, url), Attributes={"RawMessageDelivery": "true"}
    )
    root.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]},
    )
    drain(root, url)
    return key, url


def test_s3_publishes_to_an_encrypted_topic_whose_key_policy_admits_it(root, bucket, quiesce):
    statement = allow(
        ["kms:GenerateDataKey*", "kms:Decrypt"],
        "*",
        Principal={"Service": "s3.amazonaws.com"},
        Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
    )
    _, url = encrypted_topic_for(root, bucket, statement)
    root.client("s3").put_object(Bucket=bucket, Key="in.txt", Body=b"x")
    assert quiesce()
    assert [e["Records"][0]["s3"]["object"]["key"] for e in drain(root, url)] == ["in.txt"]


def test_s3_cannot_publish_to_an_encrypted_topic_whose_key_policy_does_not_admit_it(root, bucket, quiesce, sandbox):
    key, url = encrypted_topic_for(root, bucket)
    root.client("s3").put_object(Bucket=bucket, Key="in.txt", Body=b"x")
    assert quiesce()
    assert drain(root, url) == []
    assert log_lines(sandbox, "IAM refused s3.amazonaws.com kms:GenerateDataKey", key)
