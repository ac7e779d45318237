"""s3-presigned-upload: template assertions, the cdk-nag gate, handler unit tests (moto in-process) and bad input.

The end-to-end tests, which deploy the app into a sandbox account and upload with plain HTTP multipart POSTs (the
sandbox checks presigned POST policies as S3 does), live in tests/e2e/test_s3_presigned_upload_e2e.py.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Match, Template
from aws_lambda_powertools.utilities.parser.exceptions import InvalidModelTypeError
from moto import mock_aws
from pydantic import ValidationError
from s3_events import s3_event, s3_record

from awspatterns.synth import nag_violations

SLUG = "s3-presigned-upload"
BUCKET = "uploads"
SUB = "user-1234"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"x" * 100


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["S3PresignedUpload"])


def test_both_routes_need_the_jwt_authorizer_and_the_authorization_header(template):
    methods = template.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": Match.any_value()}})
    routes = {
        m["Properties"]["HttpMethod"]: m["Properties"] for m in methods.values() if "AuthorizerId" in m["Properties"]
    }
    assert set(routes) == {"POST", "GET"}
    for properties in routes.values():
        assert properties["AuthorizationType"] == "CUSTOM"
        assert properties["RequestParameters"] == {"method.request.header.Authorization": True}
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentitySource": "method.request.header.Authorization",
            "IdentityValidationExpression": Match.any_value(),
        },
    )


def test_the_authorizer_maps_each_route_to_its_scope(template):
    function = next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if "ROUTE_SCOPES" in f["Properties"].get("Environment", {}).get("Variables", {})
    )
    assert json.loads(function["Environment"]["Variables"]["ROUTE_SCOPES"]) == {
        "GET /uploads/{upload_id}": ["uploads:read"],
        "POST /uploads": ["uploads:write"],
    }


def test_only_objects_under_incoming_invoke_the_validator(template):
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
                        "LambdaFunctionArn": Match.any_value(),
                    }
                ]
            }
        },
    )


def test_the_validator_retries_then_parks_failures(template):
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"MaximumRetryAttempts": 2, "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}},
    )


def statements_of(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    return [
        statement
        for name, policy in policies.items()
        if name.startswith(role_prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def resources_of(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return [json.dumps(r) for r in resources]


def test_the_signer_may_write_only_under_incoming_and_the_validator_only_move_out_of_it(template):
    signer_writes = [s for s in statements_of(template, "PresignedPresignRole") if "s3:PutObject" in s["Action"]]
    assert len(signer_writes) == 1 and [
        r for r in resources_of(signer_writes[0]) if '/incoming/*"' in r
    ] == resources_of(signer_writes[0])
    validator = statements_of(template, "PresignedValidatorRole")
    writes = [s for s in validator if "s3:PutObject" in s["Action"]]
    assert len(writes) == 1 and len(resources_of(writes[0])) == 2
    assert all(('/accepted/*"' in r or '/rejected/*"' in r) for r in resources_of(writes[0]))
    deletes = [s for s in validator if "s3:DeleteObjectVersion" in s["Action"]]
    assert len(deletes) == 1 and all('/incoming/*"' in r for r in resources_of(deletes[0]))


def test_the_signing_key_is_a_secret_and_the_jwks_is_served_without_a_function(template):
    template.resource_count_is("AWS::SecretsManager::Secret", 1)
    template.has_resource_properties(
        "Custom::SigningKey", {"SecretArn": {"Ref": Match.string_like_regexp("SigningKey")}}
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Method", {"HttpMethod": "GET", "Integration": Match.object_like({"Type": "MOCK"})}
    )


def test_the_stack_passes_the_nag_gate_and_acknowledges_no_wildcard_but_the_upload_prefixes(assemblies):
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
    prefixes = {
        f"AwsSolutions-IAM5[Resource::<Uploads4F6EB0FD.Arn>/{p}/*]" for p in ("incoming", "accepted", "rejected")
    }
    assert wildcards == {
        (f"/S3PresignedUpload/Presigned/{function}/Role", rule)
        for function in ("Presign", "Validator")
        for rule in prefixes
    }


# ---------------------------------------------------------------- handlers, against moto in-process
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield s3


@pytest.fixture
def presign(aws, handler_loader):
    return handler_loader(SLUG, "presign.index")


@pytest.fixture
def validator(aws, handler_loader):
    return handler_loader(SLUG, "validator.index")


@pytest.fixture
def signed(presign, monkeypatch):
    """Counts the forms signed, to prove a refused request signs nothing."""
    calls: list[dict[str, Any]] = []
    original = presign.s3.generate_presigned_post

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(presign.s3, "generate_presigned_post", counting)
    return calls


def api_event(method: str, resource: str, body: Any = None, *, sub: str = SUB, **extra: Any) -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it behind the JWT authorizer."""
    path = resource.replace("{upload_id}", (extra.get("pathParameters") or {}).get("upload_id", ""))
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "authorizer": {"sub": sub, "scope": "uploads:write uploads:read", "principalId": sub},
            "stage": "prod",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "203.0.113.7"},
            "requestId": "req",
            "requestTime": "01/Dec/2026:03:00:00 +0000",
            "requestTimeEpoch": 1796094000000,
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/prod{path}",
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
        **extra,
    }


def ask(presign, lambda_context, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = presign.handler(api_event("POST", "/uploads", body, **kwargs), lambda_context)
    return response["statusCode"], json.loads(response["body"])


def status_of(presign, lambda_context, upload_id: str, sub: str = SUB) -> tuple[int, dict[str, Any]]:
    event = api_event("GET", "/uploads/{upload_id}", sub=sub, pathParameters={"upload_id": upload_id})
    response = presign.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def policy_of(form: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(form["fields"]["policy"]))
    return policy


GOOD = {"filename": "report 2026 (final).pdf", "content_type": "application/pdf", "size": 12 * 1024 * 1024}


# --8<-- [start:policy]
def test_a_form_pins_a_server_generated_key_under_the_callers_prefix_the_exact_type_size_and_a_short_expiry(
    presign, signed, lambda_context
):
    status, form = ask(presign, lambda_context, GOOD)
    assert status == 201
    assert form["key"] == f"incoming/{SUB}/{form['upload_id']}/report 2026 (final).pdf"
    assert len(form["upload_id"]) == 32
    policy = policy_of(form)
    conditions = policy["conditions"]
    assert {"bucket": BUCKET} in conditions
    assert {"key": form["key"]} in conditions  # exact key: no starts-with a caller could stretch
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", GOOD["size"], GOOD["size"]] in conditions
    assert form["fields"]["Content-Type"] == "application/pdf"
    expires = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 0 < expires - time.time() <= 121
    assert len(signed) == 1


# --8<-- [end:policy]


def test_two_forms_for_the_same_file_name_get_different_keys(presign, lambda_context):
    first, second = (ask(presign, lambda_context, GOOD)[1]["key"] for _ in range(2))
    assert first != second


def test_the_callers_own_prefix_may_be_named(presign, lambda_context):
    status, form = ask(presign, lambda_context, {**GOOD, "prefix": f"incoming/{SUB}/"})
    assert status == 201 and form["key"].startswith(f"incoming/{SUB}/")


def test_a_base64_encoded_body_is_read(presign, lambda_context):
    body = base64.b64encode(json.dumps(GOOD).encode()).decode()
    status, _ = ask(presign, lambda_context, body, isBase64Encoded=True)
    assert status == 201


BAD_REQUESTS: dict[str, tuple[Any, int, str]] = {
    "malformed json": ('{"filename": "a.pdf", ', 400, "invalid upload request"),
    "empty body": ("", 400, "invalid upload request"),
    "no body": (None, 400, "invalid upload request"),
    "json array": ("[1, 2]", 400, "invalid upload request"),
    "missing size": ({"filename": "a.pdf", "content_type": "application/pdf"}, 400, "size: Field required"),
    "size as text": ({**GOOD, "size": "1024"}, 400, "size: Input should be a valid integer"),
    "size as float": ({**GOOD, "size": 10.5}, 400, "size: Input should be a valid integer"),
    "size as bool": ({**GOOD, "size": True}, 400, "size: Input should be a valid integer"),
    "size zero": ({**GOOD, "size": 0}, 400, "size: Input should be greater than or equal to 1"),
    "size over the limit": ({**GOOD, "size": 100 * 1024 * 1024 + 1}, 400, "size: Input should be less than"),
    "unknown content type": ({**GOOD, "content_type": "text/html"}, 400, "'text/html' is not accepted"),
    "content type with parameters": (
        {**GOOD, "content_type": "application/pdf; charset=utf-8"},
        400,
        "is not accepted",
    ),
    "content type case": ({**GOOD, "content_type": "Application/PDF"}, 400, "is not accepted"),
    "path traversal": ({**GOOD, "filename": "../../etc/passwd"}, 400, "filename: Value error"),
    "slash in name": ({**GOOD, "filename": "a/b.pdf"}, 400, "filename: Value error"),
    "backslash in name": ({**GOOD, "filename": "..\\b.pdf"}, 400, "filename: Value error"),
    "double dot inside": ({**GOOD, "filename": "a..pdf"}, 400, "filename: Value error"),
    "hidden file": ({**GOOD, "filename": ".env"}, 400, "filename: Value error"),
    "control character": ({**GOOD, "filename": "a\x00.pdf"}, 400, "filename: Value error"),
    "non-ascii name": ({**GOOD, "filename": "résumé.pdf"}, 400, "filename: Value error"),
    "empty name": ({**GOOD, "filename": ""}, 400, "filename: Value error"),
    "over-long name": ({**GOOD, "filename": "a" * 125 + ".pdf"}, 400, "filename: String should have at most 128"),
    "name not a string": ({**GOOD, "filename": 5}, 400, "filename: Input should be a valid string"),
    "unknown field": ({**GOOD, "acl": "public-read"}, 400, "acl: Extra inputs are not permitted"),
    "another callers prefix": ({**GOOD, "prefix": "incoming/someone-else/"}, 403, "your own prefix"),
    "a prefix escaping": ({**GOOD, "prefix": f"incoming/{SUB}/../x/"}, 403, "your own prefix"),
    "oversized body": ({**GOOD, "pad": "x" * 5000}, 413, "over 4096 bytes"),
}


@pytest.mark.parametrize(("body", "status", "message"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_input_gets_a_clear_4xx_before_anything_is_signed(presign, signed, lambda_context, body, status, message):
    answer_status, answer = ask(presign, lambda_context, body)
    assert answer_status == status, answer
    assert message in answer["message"]
    assert signed == []


@pytest.mark.parametrize(
    "sub", ["../other", "a/b", "", "x" * 129, "é"], ids=["traversal", "slash", "empty", "long", "non-ascii"]
)
def test_a_subject_that_cannot_be_a_prefix_is_refused(presign, signed, lambda_context, sub):
    status, answer = ask(presign, lambda_context, GOOD, sub=sub)
    assert status == 403 and "subject" in answer["message"]
    assert signed == []


MALFORMED_EVENTS = {
    "empty": {},
    "no authorizer context": {k: v for k, v in api_event("POST", "/uploads", GOOD).items() if k != "requestContext"},
    "authorizer without sub": {
        **api_event("POST", "/uploads", GOOD),
        "requestContext": {**api_event("POST", "/uploads", GOOD)["requestContext"], "authorizer": {}},
    },
    "unknown method": {**api_event("POST", "/uploads", GOOD), "httpMethod": "BREW"},
}


@pytest.mark.parametrize("event", MALFORMED_EVENTS.values(), ids=MALFORMED_EVENTS.keys())
def test_malformed_events_are_refused_with_400(presign, signed, lambda_context, event):
    response = presign.handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert signed == []


def test_an_unknown_route_is_404(presign, lambda_context):
    response = presign.handler(api_event("DELETE", "/uploads"), lambda_context)
    assert response["statusCode"] == 404


def put(aws, key: str, body: bytes, content_type: str) -> str:
    return str(aws.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)["VersionId"])


def test_status_follows_an_upload_from_pending_to_accepted_with_a_download_link(aws, presign, lambda_context):
    _, form = ask(presign, lambda_context, {**GOOD, "size": len(PDF)})
    put(aws, form["key"], PDF, "application/pdf")
    assert status_of(presign, lambda_context, form["upload_id"])[1]["status"] == "pending"
    accepted = form["key"].replace("incoming/", "accepted/", 1)
    aws.copy_object(Bucket=BUCKET, Key=accepted, CopySource={"Bucket": BUCKET, "Key": form["key"]})
    aws.delete_object(Bucket=BUCKET, Key=form["key"])
    status, answer = status_of(presign, lambda_context, form["upload_id"])
    assert status == 200
    assert answer["status"] == "accepted" and answer["key"] == accepted and answer["size"] == len(PDF)
    assert "X-Amz-Signature=" in answer["download_url"] or "Signature=" in answer["download_url"]


def test_status_gives_a_rejected_uploads_reason(aws, presign, lambda_context):
    key = f"rejected/{SUB}/{'a' * 32}/x.png"
    aws.put_object(Bucket=BUCKET, Key=key, Body=b"hi", ContentType="image/png", Metadata={"reason": "not a png"})
    status, answer = status_of(presign, lambda_context, "a" * 32)
    assert (status, answer["status"], answer["reason"]) == (200, "rejected", "not a png")
    assert "download_url" not in answer


def test_status_never_shows_another_callers_upload(aws, presign, lambda_context):
    put(aws, f"accepted/someone-else/{'b' * 32}/x.pdf", PDF, "application/pdf")
    assert status_of(presign, lambda_context, "b" * 32)[0] == 404


@pytest.mark.parametrize("upload_id", ["", "../x", "B" * 32, "a" * 31, "a" * 33])
def test_status_refuses_a_malformed_upload_id(presign, lambda_context, upload_id):
    assert status_of(presign, lambda_context, upload_id)[0] == 400


# ---------------------------------------------------------------- the validator
def incoming(aws, body: bytes, content_type: str, name: str = "file.bin") -> tuple[str, str]:
    key = f"incoming/{SUB}/{'c' * 32}/{name}"
    return key, put(aws, key, body, content_type)


def run_validator(validator, lambda_context, key: str, version: str | None, size: int = 5) -> dict[str, int]:
    event = s3_event(s3_record(BUCKET, key, size=size, version_id=version, event_name="ObjectCreated:Post"))
    outcome: dict[str, int] = validator.handler(event, lambda_context)
    return outcome


def keys(aws) -> set[str]:
    versions = aws.list_object_versions(Bucket=BUCKET)
    return {v["Key"] for v in versions.get("Versions", [])} | {m["Key"] for m in versions.get("DeleteMarkers", [])}


def metadata(aws, key: str) -> dict[str, str]:
    return dict(aws.head_object(Bucket=BUCKET, Key=key)["Metadata"])


# --8<-- [start:validator]
def test_a_file_whose_content_matches_its_type_is_accepted_and_nothing_is_left_in_incoming(
    aws, validator, lambda_context
):
    key, version = incoming(aws, PNG, "image/png", "photo.png")
    assert run_validator(validator, lambda_context, key, version) == {"accepted": 1, "rejected": 0, "gone": 0}
    accepted = key.replace("incoming/", "accepted/", 1)
    assert keys(aws) == {accepted}  # the staged version is deleted for good, not hidden by a delete marker
    assert metadata(aws, accepted) == {"validation": "accepted", "reason": ""}
    assert aws.get_object(Bucket=BUCKET, Key=accepted)["Body"].read() == PNG


@pytest.mark.parametrize(
    ("body", "declared", "reason"),
    [
        (PDF, "image/png", "the content is application/pdf, declared image/png"),
        (b"<html>not a picture</html>", "image/png", "the content is none of the accepted types"),
        (PNG, "text/html", "the content is image/png, declared text/html"),
        (b"", "image/png", "size 0 bytes is outside 1.."),
    ],
    ids=["pdf declared png", "text declared png", "png declared html", "empty"],
)
def test_a_file_whose_content_or_size_is_wrong_is_rejected_with_the_reason(
    aws, validator, lambda_context, body, declared, reason
):
    key, version = incoming(aws, body, declared)
    assert run_validator(validator, lambda_context, key, version)["rejected"] == 1
    rejected = key.replace("incoming/", "rejected/", 1)
    assert keys(aws) == {rejected}
    assert metadata(aws, rejected)["validation"] == "rejected"
    assert metadata(aws, rejected)["reason"].startswith(reason)


# --8<-- [end:validator]


def test_an_event_naming_no_version_moves_the_current_object(aws, validator, lambda_context):
    key, _ = incoming(aws, PDF, "application/pdf")  # an unversioned bucket's events name no version
    assert run_validator(validator, lambda_context, key, None)["accepted"] == 1
    listing = aws.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in listing] == [key.replace("incoming/", "accepted/", 1)]


def test_an_object_outside_the_key_layout_is_rejected_aside(aws, validator, lambda_context):
    key = "incoming/no-layout.pdf"
    version = put(aws, key, PDF, "application/pdf")
    assert run_validator(validator, lambda_context, key, version)["rejected"] == 1
    assert keys(aws) == {"rejected/unexpected/no-layout.pdf"}
    assert metadata(aws, "rejected/unexpected/no-layout.pdf")["reason"].startswith("unexpected key")


def test_a_redelivered_event_changes_nothing(aws, validator, lambda_context):
    key, version = incoming(aws, PNG, "image/png")
    run_validator(validator, lambda_context, key, version)
    assert run_validator(validator, lambda_context, key, version) == {"accepted": 0, "rejected": 0, "gone": 1}
    assert keys(aws) == {key.replace("incoming/", "accepted/", 1)}


def test_other_event_types_are_ignored(aws, validator, lambda_context):
    event = s3_event(s3_record(BUCKET, "incoming/x", event_name="ObjectRemoved:Delete"))
    assert validator.handler(event, lambda_context) == {"accepted": 0, "rejected": 0, "gone": 0}


MALFORMED_S3_EVENTS = {
    "empty": {},
    "not s3": {"Records": [{"eventSource": "aws:sqs"}]},
    "records not a list": {"Records": {"a": 1}},
    "no bucket": {"Records": [{**s3_record(BUCKET, "k"), "s3": {"object": {"key": "k"}}}]},
    "negative size": s3_event(s3_record(BUCKET, "k", size=-1)),
}


@pytest.mark.parametrize("event", MALFORMED_S3_EVENTS.values(), ids=MALFORMED_S3_EVENTS.keys())
def test_the_validator_raises_on_malformed_events_so_lambda_retries_then_parks_them(
    aws, validator, lambda_context, event
):
    with pytest.raises((ValidationError, InvalidModelTypeError)):  # S3Model's own validator crashes on some shapes
        validator.handler(event, lambda_context)


def test_a_failure_to_move_raises_so_the_event_is_retried_and_the_object_stays(
    aws, validator, lambda_context, monkeypatch
):
    key, version = incoming(aws, PNG, "image/png")

    def refuse(**_: Any) -> None:
        raise validator.ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "CopyObject")

    monkeypatch.setattr(validator.s3, "copy_object", refuse)
    with pytest.raises(validator.ClientError):
        run_validator(validator, lambda_context, key, version)
    assert keys(aws) == {key}
