"""s3-presigned-upload end to end: deploy into a fresh sandbox account, upload past API Gateway's limit with plain
multipart POSTs, check what the validator did, check that S3 (the sandbox) refuses uploads outside their policy,
destroy.

Tokens are minted with the demo issuer's signing key, read from Secrets Manager as any client of the example does.
"""

from __future__ import annotations

import importlib.util
import json
import time
from typing import Any

import pytest

from awspatterns.catalog import get_pattern

pytestmark = pytest.mark.e2e

SMALL_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000


def client_module() -> Any:
    """The example's client.py (its token minting and HTTP helpers are what a reader would use)."""
    path = get_pattern("s3-presigned-upload").directory / "client.py"
    spec = importlib.util.spec_from_file_location("s3_presigned_upload_client", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def objects(deployed: Any, prefix: str = "") -> dict[str, int]:
    s3 = deployed.session.client("s3")
    listing = s3.list_objects_v2(Bucket=deployed.flat_outputs["BucketName"], Prefix=prefix)
    return {o["Key"]: o["Size"] for o in listing.get("Contents", [])}


# --8<-- [start:e2e]
def test_a_file_past_api_gateways_limit_goes_straight_to_s3_and_is_validated(deploy_pattern):
    deployed = deploy_pattern("s3-presigned-upload")

    report = deployed.run_client(timeout=60)

    pdf, fake_png = report["uploads"]
    assert pdf["bytes"] > 10 * 1024 * 1024  # more than API Gateway could carry
    assert (pdf["form_status"], pdf["upload_status"]) == (201, 204)
    assert pdf["outcome"]["status"] == "accepted"
    assert pdf["outcome"]["key"] == pdf["key"].replace("incoming/", "accepted/", 1)
    assert pdf["outcome"]["key"].startswith("accepted/client-demo/")
    assert pdf["downloaded_sha256"] == pdf["sha256"]  # what landed is what was sent
    assert fake_png["outcome"]["status"] == "rejected"
    assert fake_png["outcome"]["reason"] == "the content is none of the accepted types (declared image/png)"
    # Every upload accounted for: 2 sent = 1 accepted + 1 rejected, nothing left waiting, nothing parked.
    assert set(objects(deployed)) == {pdf["outcome"]["key"], fake_png["outcome"]["key"]}
    sqs = deployed.session.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=deployed.flat_outputs["ValidatorFailuresQueueUrl"])
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


# --8<-- [start:refused]
def test_uploads_outside_the_policy_are_refused_by_s3_and_nothing_lands(deploy_pattern):
    deployed = deploy_pattern("s3-presigned-upload")
    outputs, client = deployed.flat_outputs, client_module()
    token = client.mint_token(outputs, deployed.session, sub="alice", scope="uploads:write uploads:read")

    def form(**overrides: Any) -> dict[str, Any]:
        wanted = {"filename": "photo.png", "content_type": "image/png", "size": len(SMALL_PNG), **overrides}
        status, answer = client.call_api(outputs["UploadsUrl"], token, "POST", wanted)
        assert status == 201, answer
        return dict(answer)

    def refusal(status: int, body: bytes) -> tuple[int, str, str]:
        assert status >= 400, f"S3 accepted an upload outside its policy ({status})"
        code = body.split(b"<Code>")[1].split(b"</Code>")[0].decode()
        message = body.split(b"<Message>")[1].split(b"</Message>")[0].decode()
        return status, code, message

    too_large = client.post_file(form(), SMALL_PNG + b"\x00", "photo.png", "image/png")
    assert refusal(*too_large)[:2] == (400, "EntityTooLarge")

    wrong_type = form()
    wrong_type["fields"]["Content-Type"] = "image/jpeg"
    status, code, message = refusal(*client.post_file(wrong_type, SMALL_PNG, "photo.png", "image/jpeg"))
    assert (status, code) == (403, "AccessDenied") and "Policy Condition failed" in message

    wrong_key = form()
    wrong_key["fields"]["key"] = wrong_key["key"].replace("/alice/", "/bob/")  # another caller's prefix
    status, code, message = refusal(*client.post_file(wrong_key, SMALL_PNG, "photo.png", "image/png"))
    assert (status, code) == (403, "AccessDenied") and '"$key"' in message

    # A form valid for one second, used two seconds later.
    lambda_ = deployed.session.client("lambda")
    function = outputs["PresignFunctionName"]
    variables = lambda_.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    lambda_.update_function_configuration(
        FunctionName=function, Environment={"Variables": {**variables, "FORM_TTL_SECONDS": "1"}}
    )
    expiring = form()
    time.sleep(2.1)  # the wait is the subject of the test: the form's expiry, not a race
    status, code, message = refusal(*client.post_file(expiring, SMALL_PNG, "photo.png", "image/png"))
    assert (status, code, message) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")

    assert deployed.quiesce()
    assert objects(deployed) == {}  # no refused upload reached the bucket (nor the validator)
    # The same form within its policy is stored: the refusals above were the policy's, not a broken form's.
    good = form()
    assert client.post_file(good, SMALL_PNG, "photo.png", "image/png")[0] == 204
    assert deployed.quiesce()
    assert set(objects(deployed)) == {good["key"].replace("incoming/", "accepted/", 1)}
    assert deployed.destroy() == {}


# --8<-- [end:refused]


def test_the_api_refuses_bad_requests_before_signing_anything(deploy_pattern):
    deployed = deploy_pattern("s3-presigned-upload")
    outputs, client = deployed.flat_outputs, client_module()
    url = outputs["UploadsUrl"]
    writer = client.mint_token(outputs, deployed.session, sub="alice", scope="uploads:write")
    reader = client.mint_token(outputs, deployed.session, sub="alice", scope="uploads:read")
    good = {"filename": "a.pdf", "content_type": "application/pdf", "size": 20 * 1024 * 1024}

    assert client.call_api(url, "not-a-jwt", "POST", good)[0] == 401  # refused by API Gateway's regex
    assert client.call_api(url, writer[:-4] + "AAAA", "POST", good)[0] == 401  # signature broken
    assert client.call_api(url, reader, "POST", good)[0] == 403  # lacks uploads:write
    cases = [
        ({**good, "content_type": "text/html"}, 400, "is not accepted"),
        ({**good, "size": 6 * 1024**3}, 400, "size: Input should be less than or equal to"),
        ({**good, "filename": "../../etc/passwd"}, 400, "filename"),
        ({**good, "filename": "x" * 200 + ".pdf"}, 400, "filename: String should have at most 128"),
        ({**good, "prefix": "incoming/bob/"}, 403, "your own prefix"),
    ]
    for body, status, message in cases:
        answer_status, answer = client.call_api(url, writer, "POST", body)
        assert (answer_status, message in answer.get("message", "")) == (status, True), (body, answer)
    assert client.call_api(f"{url}/{'0' * 32}", reader)[0] == 404
    assert objects(deployed) == {}
    assert deployed.destroy() == {}


def test_an_upload_the_validator_cannot_move_is_parked_with_its_error_kept_and_replayed_after_the_fix(deploy_pattern):
    """Nothing vanishes: with the validator's write grant removed, the move is denied, Lambda retries, the event is
    parked with the denial and the file stays in incoming/; once the grant is back, replaying the parked event
    (its ``requestPayload``) accepts the file."""
    deployed = deploy_pattern("s3-presigned-upload")
    outputs, client, session = deployed.flat_outputs, client_module(), deployed.session
    iam, lambda_ = session.client("iam"), session.client("lambda")
    role = lambda_.get_function_configuration(FunctionName=outputs["ValidatorFunctionName"])["Role"].rsplit("/", 1)[-1]
    originals = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        originals[name] = json.dumps(document)
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        document["Statement"] = [s for s in statements if s["Action"] != "s3:PutObject"]
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))

    token = client.mint_token(outputs, session, sub="carol", scope="uploads:write uploads:read")
    status, form = client.call_api(
        outputs["UploadsUrl"], token, "POST", {"filename": "p.png", "content_type": "image/png", "size": len(SMALL_PNG)}
    )
    assert status == 201
    assert client.post_file(form, SMALL_PNG, "p.png", "image/png")[0] == 204
    assert deployed.quiesce()

    sqs = session.client("sqs")
    parked = sqs.receive_message(QueueUrl=outputs["ValidatorFailuresQueueUrl"], MaxNumberOfMessages=10)["Messages"]
    assert len(parked) == 1
    record = json.loads(parked[0]["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert "s3:PutObject" in record["responsePayload"]["errorMessage"]
    assert objects(deployed) == {form["key"]: len(SMALL_PNG)}  # still there, waiting
    assert client.call_api(f"{outputs['UploadsUrl']}/{form['upload_id']}", token)[1]["status"] == "pending"

    for name, document in originals.items():  # the fix
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=document)
    replay = lambda_.invoke(
        FunctionName=outputs["ValidatorFunctionName"], Payload=json.dumps(record["requestPayload"]).encode()
    )
    assert "FunctionError" not in replay
    sqs.delete_message(QueueUrl=outputs["ValidatorFailuresQueueUrl"], ReceiptHandle=parked[0]["ReceiptHandle"])
    assert objects(deployed) == {form["key"].replace("incoming/", "accepted/", 1): len(SMALL_PNG)}
    assert deployed.destroy() == {}
