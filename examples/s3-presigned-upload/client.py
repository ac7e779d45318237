"""Drive the s3-presigned-upload pattern: ask the API for a form, upload straight to S3 with a plain multipart POST,
then read back what landed.

Run it with ``patterns run s3-presigned-upload`` (deploys first if needed), or directly against a deployed stack:
``python client.py`` (uses the ``S3PresignedUpload`` stack's outputs and the usual AWS environment variables; the
caller needs ``secretsmanager:GetSecretValue`` on the demo issuer's signing key to mint its token).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import jwt

STACK_NAME = "S3PresignedUpload"
#: Larger than API Gateway's 10 MB payload limit: this file could not go through the API.
LARGE_BYTES = 12 * 1024 * 1024


# --8<-- [start:token]
def mint_token(outputs: dict[str, str], session: boto3.Session, sub: str, scope: str, ttl: int = 300) -> str:
    """A token from the demo issuer: its private key is in Secrets Manager (a real client gets one from its IdP)."""
    secret = session.client("secretsmanager").get_secret_value(SecretId=outputs["SigningKeySecretArn"])
    signing_key = json.loads(secret["SecretString"])
    now = int(time.time())
    claims: dict[str, str | int] = {"iss": outputs["Issuer"], "aud": outputs["Audience"], "sub": sub, "scope": scope}
    claims |= {"iat": now, "nbf": now, "exp": now + ttl}
    return jwt.encode(claims, signing_key["privateKeyPem"], algorithm="RS256", headers={"kid": signing_key["kid"]})


# --8<-- [end:token]


# --8<-- [start:http]
def call_api(url: str, token: str, method: str = "GET", body: Any = None) -> tuple[int, dict[str, Any]]:
    """One JSON request to the API with the bearer token; returns the status and the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (the API's URL, from the stack's outputs)
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def post_file(form: dict[str, Any], content: bytes, filename: str, content_type: str) -> tuple[int, bytes]:
    """Upload ``content`` with the form, as a browser does: a ``multipart/form-data`` POST, the fields first (in
    order) and the file last. No AWS SDK: the form carries everything S3 needs."""
    boundary = f"----upload{secrets.token_hex(12)}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in form["fields"].items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    body = b"".join(parts) + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(  # noqa: S310 (the bucket's URL, from the signed form)
        form["url"], data=body, method="POST", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


# --8<-- [end:http]


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, timeout: float = 60.0) -> dict[str, Any]:
    """Upload a 12 MB PDF and a "PNG" that is really text, each with a form of its own; wait until the validator
    has moved both; download the accepted one and compare it with what was sent."""
    token = mint_token(outputs, session, sub="client-demo", scope="uploads:write uploads:read")
    files = {
        "annual report.pdf": ("application/pdf", b"%PDF-1.7\n" + os.urandom(LARGE_BYTES)),
        "holiday.png": ("image/png", b"this is text pretending to be a picture\n" * 10),
    }
    report: dict[str, Any] = {"bucket": outputs["BucketName"], "uploads": []}
    for filename, (content_type, content) in files.items():
        wanted = {"filename": filename, "content_type": content_type, "size": len(content)}
        status, form = call_api(outputs["UploadsUrl"], token, "POST", wanted)
        if status != 201:
            report["uploads"].append({"filename": filename, "form_status": status, "error": form.get("message")})
            continue
        upload_status, _ = post_file(form, content, filename, content_type)
        status_url = f"{outputs['UploadsUrl'].rstrip('/')}/{form['upload_id']}"
        landed = _wait_for(
            lambda url=status_url: call_api(url, token)[1],  # type: ignore[misc]
            lambda answer: answer.get("status") not in (None, "pending"),
            timeout,
        )
        entry = {
            "filename": filename,
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "form_status": status,
            "key": form["key"],
            "upload_status": upload_status,
            "outcome": landed,
        }
        if landed.get("download_url"):
            with urllib.request.urlopen(landed["download_url"], timeout=120) as response:  # noqa: S310
                entry["downloaded_sha256"] = hashlib.sha256(response.read()).hexdigest()
        report["uploads"].append(entry)
    return report


# --8<-- [end:run]


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def format_report(report: dict[str, Any]) -> str:
    """What happened, in the words of the pattern's page."""
    lines = [f"Uploads to {report['bucket']}, each with its own presigned POST form:"]
    for upload in report["uploads"]:
        if "outcome" not in upload:
            lines.append(
                f"  {upload['filename']}: the API refused the form ({upload['form_status']}): {upload['error']}"
            )
            continue
        outcome = upload["outcome"]
        lines.append(
            f"  {upload['filename']} ({upload['bytes']:,} bytes): form {upload['form_status']}, "
            f"S3 answered {upload['upload_status']} to the POST"
        )
        lines.append(f"    -> {outcome.get('status', 'unknown').upper()} at {outcome.get('key')}")
        if outcome.get("reason"):
            lines.append(f"       reason: {outcome['reason']}")
        if "downloaded_sha256" in upload:
            same = upload["downloaded_sha256"] == upload["sha256"]
            lines.append(f"       read back through a presigned GET: {'identical' if same else 'DIFFERENT'} (sha256)")
    return "\n".join(lines)


def main() -> None:
    """Run against the deployed stack named ``S3PresignedUpload`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
