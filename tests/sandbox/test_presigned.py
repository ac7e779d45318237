"""Presigned requests in the sandbox, checked as S3 checks them. Each guarantee is a pair: the request S3 allows
works, the same request outside its signature, expiry or policy is refused with S3's status, code and elements.

Requests are sent as a browser or ``curl`` sends them (plain HTTP, multipart forms built by hand); the sandbox's
account header goes with them, as it selects the test's fresh account.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import botocore.auth
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from awspatterns.sandbox import control
from awspatterns.sandbox.accounts import ACCOUNT_HEADER

REPORT = b"quarterly numbers"


# ------------------------------------------------------------------ sending requests as a browser does
@dataclass
class Answer:
    """An HTTP answer, with S3's XML error (if any) read into a dict."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> dict[str, str]:
        root = ET.fromstring(self.body)  # noqa: S314 (the sandbox's own answer)
        assert root.tag == "Error", self.body
        return {child.tag: child.text or "" for child in root}


def send(url: str, account: Any, method: str = "GET", data: bytes | None = None, **headers: str) -> Answer:
    """Send a request to ``url`` with plain HTTP; a bucket in the host name (``bucket.localhost``) stays in the
    ``Host`` header while the connection goes to 127.0.0.1."""
    parts = urlsplit(url)
    headers = {"Host": parts.netloc, ACCOUNT_HEADER: account.account_id, **headers}
    local = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))
    request = urllib.request.Request(local, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return Answer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as refused:
        return Answer(refused.code, refused.read(), dict(refused.headers))


def multipart(fields: list[tuple[str, str]], content: bytes, filename: str, file_type: str) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body as a browser builds it: the fields in order, then the file."""
    boundary = f"----SandboxFormBoundary{secrets.token_hex(8)}"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {file_type}\r\n\r\n"
    ).encode() + content
    body += f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(
    post: dict[str, Any],
    account: Any,
    content: bytes,
    filename: str = "photo.png",
    file_type: str = "image/png",
    extra: dict[str, str] | None = None,
    url: str | None = None,
) -> Answer:
    """POST a presigned upload form: its fields (changed or added by ``extra``), then the file."""
    fields = {**post["fields"], **(extra or {})}
    body, content_type = multipart(list(fields.items()), content, filename, file_type)
    return send(url or post["url"], account, "POST", body, **{"Content-Type": content_type})


def exists(account: Any, bucket: str, key: str) -> bool:
    try:
        account.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def bucket(account):
    """A bucket name of the test's own (bucket names are global, across accounts)."""
    return f"uploads-{account.account_id}"


@pytest.fixture
def s3(account, bucket):
    """The account's S3 client, with the bucket holding one object."""
    client = account.client("s3")
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="docs/report.txt", Body=REPORT)
    return client


@pytest.fixture
def v4(account, s3):
    """A client that presigns with Signature Version 4 (boto3 presigns with version 2 for us-east-1 unless told)."""
    return account.client("s3", config=Config(signature_version="s3v4"))


@pytest.fixture
def v2(account, s3):
    """A client that presigns with Signature Version 2."""
    return account.client("s3", config=Config(signature_version="s3"))


def signed_at(monkeypatch: pytest.MonkeyPatch, moment: datetime.datetime) -> None:
    """Make botocore sign Signature Version 4 requests as if it were ``moment`` (UTC)."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: moment.replace(tzinfo=None))


def get_report(client: Any, bucket: str, expires_in: int = 300, **params: str) -> str:
    return str(
        client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "docs/report.txt", **params}, ExpiresIn=expires_in
        )
    )


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, value if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def forge(url: str) -> str:
    """``url`` with its signature changed in its last two characters."""
    name = "X-Amz-Signature" if "X-Amz-Signature=" in url else "Signature"
    provided = dict(parse_qsl(urlsplit(url).query))[name]
    return with_param(url, name, provided[:-2] + ("00" if provided[-2:] != "00" else "11"))


def name_of_signature(client: str) -> str:
    return "X-Amz-Signature" if client == "v4" else "Signature"


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# ------------------------------------------------------------------ presigned URLs: signature and expiry
@pytest.mark.parametrize("client", ["v4", "v2"])
def test_a_presigned_get_works_until_it_expires(request, account, bucket, client):
    signer = request.getfixturevalue(client)
    url = get_report(signer, bucket, expires_in=1)
    answer = send(url, account)
    assert (answer.status, answer.body) == (200, REPORT)

    time.sleep(2.1)
    refused = send(url, account)
    assert refused.status == 403
    error = refused.error
    assert (error["Code"], error["Message"]) == ("AccessDenied", "Request has expired")
    assert error["ServerTime"] > error["Expires"]  # both ISO 8601, as S3 writes them
    assert ("X-Amz-Expires" in error) == (client == "v4")
    if client == "v4":
        assert error["X-Amz-Expires"] == "1"


def test_a_presigned_get_signed_two_hours_ago_for_one_hour_is_expired(account, bucket, v4, monkeypatch):
    signed_at(monkeypatch, utcnow() - datetime.timedelta(hours=2))
    url = get_report(v4, bucket, expires_in=3600)
    error = send(url, account).error
    assert (error["Code"], error["Message"], error["X-Amz-Expires"]) == ("AccessDenied", "Request has expired", "3600")
    expires = datetime.datetime.strptime(error["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert abs((utcnow() - datetime.timedelta(hours=1)) - expires) < datetime.timedelta(seconds=10)


def test_a_presigned_get_dated_in_the_future_is_not_valid_yet(account, bucket, v4, monkeypatch):
    signed_at(monkeypatch, utcnow() + datetime.timedelta(hours=1))
    refused = send(get_report(v4, bucket), account)
    assert (refused.status, refused.error["Code"], refused.error["Message"]) == (
        403,
        "AccessDenied",
        "Request is not yet valid",
    )
    signed_at(monkeypatch, utcnow() + datetime.timedelta(minutes=5))  # within S3's clock skew
    assert send(get_report(v4, bucket), account).status == 200


def test_a_presigned_url_valid_for_more_than_a_week_is_refused(account, bucket, v4):
    assert send(get_report(v4, bucket, expires_in=604800), account).status == 200
    refused = send(get_report(v4, bucket, expires_in=604801), account)
    assert (refused.status, refused.error["Code"]) == (400, "AuthorizationQueryParametersError")
    assert refused.error["Message"] == "X-Amz-Expires must be less than a week (in seconds) that is; 604800"


@pytest.mark.parametrize("client", ["v4", "v2"])
def test_a_tampered_presigned_url_does_not_match_its_signature(request, account, bucket, client):
    signer = request.getfixturevalue(client)
    url = get_report(signer, bucket)
    assert send(url, account).status == 200

    # another object with the same signature
    other = url.replace("docs/report.txt", "docs/salaries.txt")
    refused = send(other, account)
    assert (refused.status, refused.error["Code"]) == (403, "SignatureDoesNotMatch")
    assert refused.error["AWSAccessKeyId"] == "sandbox"
    assert "docs/salaries.txt" in refused.error["StringToSign" if client == "v2" else "CanonicalRequest"]

    # the signature itself changed
    forged = forge(url)
    refused = send(forged, account)
    assert (refused.status, refused.error["Code"]) == (403, "SignatureDoesNotMatch")
    assert refused.error["SignatureProvided"] == dict(parse_qsl(urlsplit(forged).query))[name_of_signature(client)]
    assert refused.error["StringToSignBytes"] == refused.error["StringToSign"].encode().hex(" ")


def test_a_presigned_url_signed_with_the_wrong_secret_is_refused(sandbox, account, bucket, s3):
    def presigner(secret: str, key: str = "sandbox") -> Any:
        session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")
        return session.client("s3", endpoint_url=sandbox.endpoint_url, config=Config(signature_version="s3v4"))

    assert send(get_report(presigner("sandbox"), bucket), account).status == 200
    refused = send(get_report(presigner("not-the-secret"), bucket), account)
    assert (refused.status, refused.error["Code"]) == (403, "SignatureDoesNotMatch")

    unknown = send(get_report(presigner("sandbox", key="AKIAUNKNOWNKEY000000"), bucket), account)
    assert (unknown.status, unknown.error["Code"], unknown.error["AWSAccessKeyId"]) == (
        403,
        "InvalidAccessKeyId",
        "AKIAUNKNOWNKEY000000",
    )


def test_iam_users_and_assumed_roles_presign_with_their_own_secrets(sandbox, account, bucket, s3):
    iam = account.client("iam")
    # the signers may read the bucket (IAM enforcement then lets their presigned requests through)
    reads = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
        }
    )
    iam.create_user(UserName="uploader")
    iam.put_user_policy(UserName="uploader", PolicyName="reads", PolicyDocument=reads)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="uploader", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="uploader", PolicyName="reads", PolicyDocument=reads)
    key = iam.create_access_key(UserName="uploader")["AccessKey"]
    role = account.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account.account_id}:role/uploader", RoleSessionName="browser"
    )["Credentials"]

    def presigner(key_id: str, secret: str, token: str | None = None) -> Any:
        session = boto3.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token, region_name="us-east-1"
        )
        return session.client("s3", endpoint_url=sandbox.endpoint_url, config=Config(signature_version="s3v4"))

    assert send(get_report(presigner(key["AccessKeyId"], key["SecretAccessKey"]), bucket), account).status == 200
    wrong = send(get_report(presigner(key["AccessKeyId"], "sandbox"), bucket), account)
    assert (wrong.status, wrong.error["Code"]) == (403, "SignatureDoesNotMatch")

    temporary = presigner(role["AccessKeyId"], role["SecretAccessKey"], role["SessionToken"])
    assert send(get_report(temporary, bucket), account).status == 200
    other_token = send(
        with_param(get_report(temporary, bucket), "X-Amz-Security-Token", "x" + role["SessionToken"]), account
    )
    assert (other_token.status, other_token.error["Code"]) == (400, "InvalidToken")
    no_token = presigner(role["AccessKeyId"], role["SecretAccessKey"])
    refused = send(get_report(no_token, bucket), account)
    assert (refused.status, refused.error["Code"]) == (403, "InvalidAccessKeyId")

    iam.update_access_key(UserName="uploader", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    inactive = send(get_report(presigner(key["AccessKeyId"], key["SecretAccessKey"]), bucket), account)
    assert (inactive.status, inactive.error["Code"]) == (403, "InvalidAccessKeyId")


@pytest.mark.parametrize("client", ["v4", "v2"])
def test_a_presigned_put_stores_what_it_was_signed_for(request, account, bucket, client):
    signer = request.getfixturevalue(client)
    url = signer.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "in/photo.png", "ContentType": "image/png"}, ExpiresIn=300
    )
    stored = send(url, account, "PUT", b"\x89PNG...", **{"Content-Type": "image/png"})
    assert stored.status == 200
    assert account.client("s3").get_object(Bucket=bucket, Key="in/photo.png")["Body"].read() == b"\x89PNG..."

    # the same URL for another type, or for another key, does not match what was signed
    html = send(url, account, "PUT", b"<script>", **{"Content-Type": "text/html"})
    assert (html.status, html.error["Code"]) == (403, "SignatureDoesNotMatch")
    elsewhere = send(
        url.replace("in/photo.png", "www/index.html"), account, "PUT", b"x", **{"Content-Type": "image/png"}
    )
    assert (elsewhere.status, elsewhere.error["Code"]) == (403, "SignatureDoesNotMatch")
    assert not exists(account, bucket, "www/index.html")


def test_an_expired_presigned_put_stores_nothing(account, bucket, v4, monkeypatch):
    signed_at(monkeypatch, utcnow() - datetime.timedelta(minutes=10))
    url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "late.txt"}, ExpiresIn=300)
    refused = send(url, account, "PUT", b"too late")
    assert (refused.status, refused.error["Code"], refused.error["Message"]) == (
        403,
        "AccessDenied",
        "Request has expired",
    )
    assert not exists(account, bucket, "late.txt")


def test_x_amz_headers_the_url_did_not_sign_are_refused(account, bucket, v4):
    url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "a.txt"}, ExpiresIn=300)
    assert send(url, account, "PUT", b"a").status == 200
    refused = send(url, account, "PUT", b"a", **{"x-amz-acl": "public-read"})
    assert (refused.status, refused.error["Code"], refused.error["HeadersNotSigned"]) == (
        403,
        "AccessDenied",
        "x-amz-acl",
    )


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_virtual_hosted_and_bucket_level_presigned_urls_are_checked(account, bucket, s3, signature_version):
    virtual = account.client(
        "s3", config=Config(signature_version=signature_version, s3={"addressing_style": "virtual"})
    )
    path = account.client("s3", config=Config(signature_version=signature_version))
    url = get_report(virtual, bucket)
    assert urlsplit(url).netloc.startswith(f"{bucket}.localhost")
    assert send(url, account).body == REPORT
    for client in (virtual, path):
        listing = client.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket}, ExpiresIn=300)
        assert send(listing, account).status == 200
        assert send(forge(listing), account).error["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize("client", ["v4", "v2"])
def test_keys_with_spaces_plus_signs_and_non_ascii_letters_are_signed_as_sent(request, account, bucket, client):
    signer = request.getfixturevalue(client)
    key = "docs/Q3 report+final, \u00e9t\u00e9 (2).txt"
    account.client("s3").put_object(Bucket=bucket, Key=key, Body=b"summer")
    url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    assert send(url, account).body == b"summer"
    assert send(forge(url), account).status == 403


def test_requests_signed_in_the_authorization_header_are_not_presigned_requests(account, bucket, s3):
    # the SDK's own calls, the POST of DeleteObjects among them, go through unchanged
    s3.put_object(Bucket=bucket, Key="one", Body=b"1")
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "one"}]})
    assert [d["Key"] for d in deleted["Deleted"]] == ["one"]


# ------------------------------------------------------------------ presigned POST: the policy
def image_post(
    client: Any,
    bucket: str,
    expires_in: int = 300,
    conditions: list[Any] | None = None,
    fields: dict[str, str] | None = None,
) -> Any:
    """A presigned POST for images under ``uploads/``, 1 byte to 10 bytes."""
    return client.generate_presigned_post(
        bucket,
        "uploads/${filename}",
        Fields={"Content-Type": "image/png", **(fields or {})},
        Conditions=[
            ["starts-with", "$Content-Type", "image/"],
            ["content-length-range", 1, 10],
            *(conditions or []),
        ],
        ExpiresIn=expires_in,
    )


@pytest.mark.parametrize("client", ["v4", "v2"])
def test_a_post_within_its_policy_is_stored(request, account, bucket, client):
    post = image_post(request.getfixturevalue(client), bucket)
    answer = upload(post, account, b"\x89PNG")
    assert (answer.status, answer.body) == (204, b"")
    stored = account.client("s3").get_object(Bucket=bucket, Key="uploads/photo.png")
    assert stored["Body"].read() == b"\x89PNG"


@pytest.mark.parametrize("client", ["v4", "v2"])
def test_a_post_larger_than_its_policy_allows_is_too_large(request, account, bucket, client):
    post = image_post(request.getfixturevalue(client), bucket)
    refused = upload(post, account, b"x" * 1000)
    assert (refused.status, refused.error["Code"], refused.error["Message"]) == (
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )
    assert (refused.error["ProposedSize"], refused.error["MaxSizeAllowed"]) == ("1000", "10")
    assert not exists(account, bucket, "uploads/photo.png")
    assert upload(post, account, b"x" * 10).status == 204  # the bounds are inclusive


def test_an_empty_post_is_smaller_than_its_policy_allows(account, bucket, v4):
    refused = upload(image_post(v4, bucket), account, b"")
    assert (refused.status, refused.error["Code"]) == (400, "EntityTooSmall")
    assert (refused.error["ProposedSize"], refused.error["MinSizeAllowed"]) == ("0", "1")
    assert refused.error["Message"] == "Your proposed upload is smaller than the minimum allowed size"
    assert upload(image_post(v4, bucket), account, b"x").status == 204


def test_a_post_of_another_content_type_fails_its_condition(account, bucket, v4):
    post = image_post(v4, bucket)
    refused = upload(
        post, account, b"<html>", filename="page.html", file_type="text/html", extra={"Content-Type": "text/html"}
    )
    assert (refused.status, refused.error["Code"]) == (403, "AccessDenied")
    assert refused.error["Message"] == (
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "image/"]'
    )
    assert not exists(account, bucket, "uploads/page.html")
    assert upload(post, account, b"gif", extra={"Content-Type": "image/gif"}).status == 204


def test_a_post_to_a_key_outside_its_prefix_fails_its_condition(account, bucket, v4):
    post = image_post(v4, bucket)
    refused = upload(post, account, b"x", extra={"key": "public/index.html"})
    assert (refused.status, refused.error["Code"]) == (403, "AccessDenied")
    assert refused.error["Message"] == (
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "uploads/"]'
    )
    assert not exists(account, bucket, "public/index.html")
    assert upload(post, account, b"x", extra={"key": "uploads/chosen-name.png"}).status == 204
    assert exists(account, bucket, "uploads/chosen-name.png")


def test_an_exact_key_condition_pins_the_key(account, bucket, v4):
    post = v4.generate_presigned_post(bucket, "avatars/42.png", ExpiresIn=300)
    assert upload(post, account, b"x").status == 204
    refused = upload(post, account, b"x", extra={"key": "avatars/43.png"})
    assert refused.error["Message"] == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "avatars/42.png"]'
    )


@pytest.mark.parametrize("client", ["v4", "v2"])
def test_an_expired_post_policy_is_refused(request, account, bucket, client):
    signer = request.getfixturevalue(client)
    assert upload(image_post(signer, bucket, expires_in=60), account, b"x").status == 204
    refused = upload(image_post(signer, bucket, expires_in=-1), account, b"x")
    assert (refused.status, refused.error["Code"], refused.error["Message"]) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


def test_a_post_with_a_field_its_policy_does_not_name_is_refused(account, bucket, v4):
    post = image_post(v4, bucket)
    refused = upload(post, account, b"x", extra={"x-amz-meta-owner": "mallory"})
    assert (refused.status, refused.error["Code"], refused.error["Message"]) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: x-amz-meta-owner",
    )
    # fields S3 ignores by name are allowed
    assert upload(post, account, b"x", extra={"x-ignore-tracking": "1"}).status == 204


@pytest.mark.parametrize("client", ["v4", "v2"])
def test_a_post_whose_policy_was_changed_does_not_match_its_signature(request, account, bucket, client):
    post = image_post(request.getfixturevalue(client), bucket)
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "content-length-range" not in c]
    forged = base64.b64encode(json.dumps(policy).encode()).decode()
    refused = upload(post, account, b"x" * 1000, extra={"policy": forged})
    assert (refused.status, refused.error["Code"]) == (403, "SignatureDoesNotMatch")
    assert refused.error["StringToSign"] == forged
    assert refused.error["SignatureProvided"] == post["fields"]["x-amz-signature" if client == "v4" else "signature"]
    assert not exists(account, bucket, "uploads/photo.png")


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_post_signed_with_the_wrong_secret_is_refused(sandbox, account, bucket, s3, signature_version):
    session = boto3.Session(aws_access_key_id="sandbox", aws_secret_access_key="guess", region_name="us-east-1")
    config = Config(signature_version=signature_version)
    client = session.client("s3", endpoint_url=sandbox.endpoint_url, config=config)
    refused = upload(image_post(client, bucket), account, b"x")
    assert (refused.status, refused.error["Code"]) == (403, "SignatureDoesNotMatch")


def test_field_conditions_status_metadata_and_encryption(account, bucket, v4):
    fields = {"success_action_status": "201", "x-amz-meta-owner": "user-42", "x-amz-server-side-encryption": "AES256"}
    post = image_post(
        v4,
        bucket,
        conditions=[
            {"success_action_status": "201"},
            ["starts-with", "$x-amz-meta-owner", "user-"],
            {"x-amz-server-side-encryption": "AES256"},
        ],
        fields=fields,
    )
    assert upload(post, account, b"x").status == 201
    head = account.client("s3").head_object(Bucket=bucket, Key="uploads/photo.png")
    assert head["Metadata"] == {"owner": "user-42"}

    for field_name, value, condition in [
        ("success_action_status", "200", '["eq", "$success_action_status", "201"]'),
        ("x-amz-meta-owner", "admin", '["starts-with", "$x-amz-meta-owner", "user-"]'),
        ("x-amz-server-side-encryption", "aws:kms", '["eq", "$x-amz-server-side-encryption", "AES256"]'),
    ]:
        refused = upload(post, account, b"x", extra={field_name: value})
        assert refused.error["Message"] == f"Invalid according to Policy: Policy Condition failed: {condition}"


def test_a_post_to_another_bucket_fails_the_bucket_condition(account, bucket, v4):
    account.client("s3").create_bucket(Bucket=f"other-{bucket}")
    post = image_post(v4, bucket)
    refused = upload(post, account, b"x", url=post["url"].replace(f"/{bucket}", f"/other-{bucket}"))
    assert refused.error["Message"] == (
        f'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "{bucket}"]'
    )


def test_a_post_without_a_file_or_key_is_an_invalid_argument(account, bucket, v4):
    post = v4.generate_presigned_post(bucket, "k", ExpiresIn=300)
    body = (
        "".join(
            f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in post["fields"].items()
        ).encode()
        + b"--b--\r\n"
    )
    refused = send(post["url"], account, "POST", body, **{"Content-Type": "multipart/form-data; boundary=b"})
    assert (refused.status, refused.error["Code"], refused.error["ArgumentName"], refused.error["ArgumentValue"]) == (
        400,
        "InvalidArgument",
        "file",
        "0",
    )
    fields = {k: v for k, v in post["fields"].items() if k != "key"}
    refused = upload({"url": post["url"], "fields": fields}, account, b"x")
    assert (refused.status, refused.error["ArgumentName"]) == (400, "key")


def test_an_anonymous_post_needs_a_publicly_writable_bucket(account, bucket, s3):
    form = {"url": f"{account.endpoint_url}/{bucket}", "fields": {"key": "anonymous.txt"}}
    refused = upload(form, account, b"x")
    assert (refused.status, refused.error["Code"], refused.error["Message"]) == (403, "AccessDenied", "Access Denied")
    s3.create_bucket(Bucket=f"drop-{bucket}", ACL="public-read-write")
    assert upload({**form, "url": f"{account.endpoint_url}/drop-{bucket}"}, account, b"x").status == 204


def test_a_post_larger_than_10_mb_is_stored(account, bucket, v4):
    size = 11 * 1024 * 1024
    post = v4.generate_presigned_post(
        bucket, "big/${filename}", Conditions=[["content-length-range", 1, 20 * 1024 * 1024]], ExpiresIn=300
    )
    content = secrets.token_bytes(size)
    assert upload(post, account, content, filename="video.bin", file_type="application/octet-stream").status == 204
    stored = account.client("s3").get_object(Bucket=bucket, Key="big/video.bin")["Body"].read()
    assert stored == content


# ------------------------------------------------------------------ enforcement modes
@pytest.fixture(scope="module")
def lenient(tmp_path_factory):
    """Sandboxes of their own with enforcement ``soft`` and ``off``, stopped afterwards."""
    started = {}
    for mode in ("soft", "off"):
        home: Path = tmp_path_factory.mktemp(f"enforce-{mode}")
        started[mode] = control.start(home, enforce=mode)
    yield started
    for info in started.values():
        control.stop(Path(info.state_dir))


@pytest.mark.parametrize("mode", ["soft", "off"])
def test_soft_enforcement_allows_and_logs_what_it_would_refuse_and_off_neither(lenient, monkeypatch, mode):
    info = lenient[mode]
    assert info.enforce == mode
    account = info.session(str(600000000000 + secrets.randbelow(10**9)))
    bucket = f"uploads-{account.account_id}"
    s3 = account.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="docs/report.txt", Body=REPORT)
    v4 = account.client("s3", config=Config(signature_version="s3v4"))

    signed_at(monkeypatch, utcnow() - datetime.timedelta(hours=2))
    expired = send(get_report(v4, bucket, expires_in=3600), account)
    monkeypatch.undo()
    too_large = upload(image_post(v4, bucket), account, b"x" * 1000)

    assert (expired.status, expired.body) == (200, REPORT)
    assert too_large.status == 204
    log = info.log_file.read_text()
    would = [line for line in log.splitlines() if "would refuse" in line]
    if mode == "off":
        assert would == []
        return
    assert any(
        "presigned GET" in line and "key 'docs/report.txt'" in line and "Request has expired" in line for line in would
    ), log[-3000:]
    assert any(
        "POST upload" in line
        and "key 'uploads/photo.png'" in line
        and "EntityTooLarge" in line
        and "MaxSizeAllowed='10'" in line
        for line in would
    ), log[-3000:]


def test_refusals_are_logged_with_bucket_key_and_condition(sandbox, account, bucket, v4):
    upload(image_post(v4, bucket), account, b"x", extra={"key": "public/index.html"})
    lines = [line for line in sandbox.log_file.read_text().splitlines() if "S3 refused POST upload" in line]
    assert any(
        f"bucket '{bucket}' key 'public/index.html'" in line
        and '["starts-with", "$key", "uploads/"]' in line
        and "access key sandbox" in line
        for line in lines
    )
