"""S3 requests without the sandbox's account header act in the account that owns the bucket they name, as in AWS
(bucket names are global): a presigned upload's event notification reaches the owner's queue."""

from __future__ import annotations

import json
import secrets
import urllib.request

from botocore.config import Config
from lambda_code import admit

from awspatterns.sandbox.accounts import ACCOUNT_HEADER


def post_form(form: dict[str, object], content: bytes, **headers: str) -> int:
    """The form POSTed as a browser does, with plain HTTP."""
    boundary = f"----Addressing{secrets.token_hex(8)}"
    fields = form["fields"]
    assert isinstance(fields, dict)
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'.encode() + content
    body += f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(  # noqa: S310 (the sandbox's own endpoint)
        str(form["url"]),
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **headers},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return int(response.status)


def bucket_notifying_a_queue(account):
    """A bucket of ``account`` whose ``ObjectCreated`` events go to a queue of ``account``."""
    bucket = f"addressed-{account.account_id}"
    s3, sqs = account.client("s3"), account.client("sqs")
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admit(account, queue_arn, "s3", f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    return bucket, queue_url


def created_keys(account, queue_url: str) -> list[str]:
    messages = account.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    return [r["s3"]["object"]["key"] for body in bodies for r in body.get("Records", [])]


def test_a_presigned_upload_without_the_header_notifies_the_bucket_owners_queue(account, quiesce):
    bucket, queue_url = bucket_notifying_a_queue(account)
    signer = account.client("s3", config=Config(signature_version="s3v4"))
    form = signer.generate_presigned_post(Bucket=bucket, Key="posted.txt", ExpiresIn=60)

    assert post_form(form, b"posted") == 204  # no account header: a browser's request
    assert quiesce()

    assert account.client("s3").get_object(Bucket=bucket, Key="posted.txt")["Body"].read() == b"posted"
    assert created_keys(account, queue_url) == ["posted.txt"]


def test_a_request_with_the_header_keeps_its_account(account, quiesce):
    bucket, queue_url = bucket_notifying_a_queue(account)
    signer = account.client("s3", config=Config(signature_version="s3v4"))
    form = signer.generate_presigned_post(Bucket=bucket, Key="headed.txt", ExpiresIn=60)

    assert post_form(form, b"headed", **{ACCOUNT_HEADER: account.account_id}) == 204
    assert quiesce()
    assert created_keys(account, queue_url) == ["headed.txt"]
