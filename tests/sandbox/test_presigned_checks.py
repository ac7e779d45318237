"""The presigned checks on their own (no server): AWS's published signing examples verify, and the POST policy
language behaves as S3's does where the sandbox tests in ``test_presigned.py`` do not reach."""

from __future__ import annotations

import base64
import calendar
import json
import time
from typing import Any

import pytest

from awspatterns.sandbox.s3_presigned.credentials import SigningCredentials
from awspatterns.sandbox.s3_presigned.errors import S3Error, invalid_access_key_id
from awspatterns.sandbox.s3_presigned.forms import UploadForm, read_form
from awspatterns.sandbox.s3_presigned.post_policy import check_policy, parse_policy
from awspatterns.sandbox.s3_presigned.signatures import PresignedRequest, check_presigned_url, parse_query
from awspatterns.sandbox.s3_presigned.uploads import check_upload

# AWS's example credentials, from its Signature Version 4 and 2 documentation.
EXAMPLE = SigningCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def lookup(access_key_id: str) -> SigningCredentials:
    if access_key_id != EXAMPLE.access_key_id:
        raise invalid_access_key_id(access_key_id)
    return EXAMPLE


def at(moment: str) -> float:
    return float(calendar.timegm(time.strptime(moment, "%Y-%m-%dT%H:%M:%SZ")))


def refusal(check: Any, *args: Any, **kwargs: Any) -> S3Error:
    with pytest.raises(S3Error) as refused:
        check(*args, **kwargs)
    return refused.value


# ------------------------------------------------------------------ AWS's presigned URL examples
# "Example: Presigned URL" of AWS's "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
SIGV4_EXAMPLE = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
    "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)


def example_get(query: str = SIGV4_EXAMPLE, path: str = "/test.txt") -> PresignedRequest:
    return PresignedRequest(
        "GET", path, parse_query(query), (("Host", "examplebucket.s3.amazonaws.com"),), "examplebucket", True
    )


def test_aws_signature_version_4_presigned_url_example_verifies():
    assert check_presigned_url(example_get(), at("2013-05-24T00:00:01Z"), lookup) == "AKIAIOSFODNN7EXAMPLE"


def test_the_example_url_for_another_object_shows_the_canonical_request_s3_computed():
    error = refusal(check_presigned_url, example_get(path="/other.txt"), at("2013-05-24T00:00:01Z"), lookup)
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    assert error.element("CanonicalRequest") == (
        "GET\n/other.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
        "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
        "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
    )


def test_the_example_url_a_day_later_has_expired():
    error = refusal(check_presigned_url, example_get(), at("2013-05-25T00:00:01Z"), lookup)
    assert (error.code, error.message, error.elements[:3]) == (
        "AccessDenied",
        "Request has expired",
        (("X-Amz-Expires", "86400"), ("Expires", "2013-05-25T00:00:00Z"), ("ServerTime", "2013-05-25T00:00:01Z")),
    )


def test_the_example_url_for_a_bucket_in_another_region_names_the_region():
    request = example_get()
    error = refusal(
        check_presigned_url,
        PresignedRequest(**{**request.__dict__, "bucket_region": "eu-west-1"}),
        at("2013-05-24T00:00:01Z"),
        lookup,
    )
    assert (error.status, error.code, error.element("Region")) == (
        400,
        "AuthorizationQueryParametersError",
        "eu-west-1",
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ("X-Amz-Algorithm=AWS4-HMAC-SHA1", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'),
        ("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524", "the Credential is mal-formed"),
        ("X-Amz-Expires=-1", "X-Amz-Expires must be non-negative"),
        ("X-Amz-Expires=soon", "X-Amz-Expires should be a number"),
        ("X-Amz-Date=2013-05-24", "X-Amz-Date must be in the ISO8601 Long Format"),
        ("X-Amz-SignedHeaders", "requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature"),
    ],
)
def test_malformed_query_parameters_are_authorization_query_parameters_errors(change, message):
    name = change.split("=")[0]
    query = "&".join(change if part.startswith(name + "=") else part for part in SIGV4_EXAMPLE.split("&"))
    if "=" not in change:
        query = "&".join(part for part in SIGV4_EXAMPLE.split("&") if not part.startswith(name + "="))
    error = refusal(check_presigned_url, example_get(query), at("2013-05-24T00:00:01Z"), lookup)
    assert (error.status, error.code) == (400, "AuthorizationQueryParametersError")
    assert message in error.message


def test_aws_signature_version_2_query_string_example_verifies():
    # "Query string request authentication" of AWS's Signature Version 2 documentation (bucket johnsmith).
    query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
    request = PresignedRequest(
        "GET", "/photos/puppy.jpg", parse_query(query), (("Host", "johnsmith.s3.amazonaws.com"),), "johnsmith", True
    )
    assert check_presigned_url(request, 1175139000.0, lookup) == "AKIAIOSFODNN7EXAMPLE"
    path_style = PresignedRequest(
        "GET", "/johnsmith/photos/puppy.jpg", parse_query(query), (("Host", "s3.amazonaws.com"),), "johnsmith"
    )
    assert check_presigned_url(path_style, 1175139000.0, lookup) == "AKIAIOSFODNN7EXAMPLE"
    error = refusal(check_presigned_url, request, 1175139621.0, lookup)
    assert (error.message, error.elements) == (
        "Request has expired",
        (("Expires", "2007-03-29T03:40:20Z"), ("ServerTime", "2007-03-29T03:40:21Z")),
    )
    tampered = refusal(
        check_presigned_url, PresignedRequest(**{**request.__dict__, "method": "DELETE"}), 1175139000.0, lookup
    )
    assert (tampered.code, tampered.element("StringToSign")) == (
        "SignatureDoesNotMatch",
        "DELETE\n\n\n1175139620\n/johnsmith/photos/puppy.jpg",
    )


# ------------------------------------------------------------------ AWS's POST example
# "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)": its policy, fields, signature.
POST_POLICY = (
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2"
    "NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMt"
    "cmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29t"
    "L3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4"
    "LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0s"
    "DQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZP"
    "RE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1B"
    "Qy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)
POST_FIELDS = (
    ("key", "user/user1/${filename}"),
    ("acl", "public-read"),
    ("success_action_redirect", "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"),
    ("Content-Type", "image/jpeg"),
    ("x-amz-meta-uuid", "14365123651274"),
    ("x-amz-server-side-encryption", "AES256"),
    ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"),
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    ("X-Amz-Date", "20151229T000000Z"),
    ("x-amz-meta-tag", ""),
    ("Policy", POST_POLICY),
    ("X-Amz-Signature", "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"),
)


class Upload:
    filename = "photo.jpg"


def example_form(*changes: tuple[str, str], size: int = 100) -> UploadForm:
    fields = dict(POST_FIELDS)
    fields.update(changes)
    return read_form(fields.items(), [("file", Upload())], b"x" * size)


def test_aws_post_example_verifies_with_its_mixed_case_field_names():
    form = example_form()
    assert form.get("key") == "user/user1/photo.jpg"  # ${filename} expanded before the policy is checked
    assert check_upload(form, "sigv4examplebucket", at("2015-12-29T12:00:00Z"), lookup=lookup) == EXAMPLE.access_key_id


def test_aws_post_example_after_its_expiration_is_expired():
    error = refusal(check_upload, example_form(), "sigv4examplebucket", at("2015-12-30T12:00:01Z"), lookup=lookup)
    assert (error.status, error.code, error.message) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


def test_aws_post_example_with_its_policy_changed_shows_the_policy_as_string_to_sign():
    policy = base64.b64encode(base64.b64decode(POST_POLICY).replace(b"image/", b"text/")).decode()
    error = refusal(
        check_upload, example_form(("Policy", policy)), "sigv4examplebucket", at("2015-12-29T12:00:00Z"), lookup=lookup
    )
    assert (error.code, error.element("StringToSign"), error.element("AWSAccessKeyId")) == (
        "SignatureDoesNotMatch",
        policy,
        "AKIAIOSFODNN7EXAMPLE",
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        ([("acl", "public-read-write")], '["eq", "$acl", "public-read"]'),
        ([("key", "user/user2/photo.jpg")], '["starts-with", "$key", "user/user1/"]'),
        ([("Content-Type", "image/png,text/html")], '["starts-with", "$Content-Type", "image/"]'),
        ([("x-amz-meta-uuid", "14365123651275")], '["eq", "$x-amz-meta-uuid", "14365123651274"]'),
    ],
)
def test_aws_post_example_fields_outside_its_conditions_fail_them(changes, message):
    error = refusal(
        check_upload, example_form(*changes), "sigv4examplebucket", at("2015-12-29T12:00:00Z"), lookup=lookup
    )
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message == f"Invalid according to Policy: Policy Condition failed: {message}"


def test_a_list_of_image_types_passes_a_content_type_prefix():
    form = example_form(("Content-Type", "image/jpg,image/png, image/gif"))
    assert check_upload(form, "sigv4examplebucket", at("2015-12-29T12:00:00Z"), lookup=lookup)


def test_aws_post_example_to_another_bucket_fails_the_bucket_condition():
    error = refusal(check_upload, example_form(), "otherbucket", at("2015-12-29T12:00:00Z"), lookup=lookup)
    assert (
        error.message == 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "sigv4examplebucket"]'
    )


def test_a_missing_signature_field_is_named_as_s3_names_it():
    fields = [(name, value) for name, value in POST_FIELDS if name != "X-Amz-Signature"]
    form = read_form(fields, [("file", Upload())], b"x")
    error = refusal(check_upload, form, "sigv4examplebucket", at("2015-12-29T12:00:00Z"), lookup=lookup)
    assert (error.status, error.code, error.element("ArgumentName")) == (400, "InvalidArgument", "X-Amz-Signature")
    assert error.message == (
        "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is specified, please check the order of "
        "the fields."
    )


# ------------------------------------------------------------------ the policy language
def encoded(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


FUTURE = "2100-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "policy, message",
    [
        ("not base64!", "Invalid Policy: invalid Base64 encoding."),
        (base64.b64encode(b"{").decode(), "Invalid Policy: Invalid JSON."),
        (encoded({"conditions": []}), "Invalid Policy: Policy missing expiration."),
        (encoded({"expiration": FUTURE}), "Invalid Policy: Policy missing conditions."),
        (
            encoded({"expiration": "2100-01-01 00:00:00", "conditions": []}),
            "Invalid Policy: Invalid 'expiration' value: '2100-01-01 00:00:00'",
        ),
        (encoded({"expiration": FUTURE, "Statement": []}), "Invalid Policy: Unexpected: 'statement'"),
        (
            encoded({"expiration": FUTURE, "conditions": {}}),
            "Invalid Policy: Invalid 'conditions' value: must be a List.",
        ),
        (
            encoded({"expiration": FUTURE, "conditions": [{"bucket": "b", "acl": "private"}]}),
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
        ),
        (
            encoded({"expiration": FUTURE, "conditions": [{"Content-Length": 6199034}]}),
            "Invalid Policy: Invalid Simple-Condition: value must be a string.",
        ),
        (
            encoded({"expiration": FUTURE, "conditions": [["ends-with", "$key", "x"]]}),
            "Invalid Policy: Invalid Condition: unknown operation 'ends-with'.",
        ),
        (
            encoded({"expiration": FUTURE, "conditions": [["content-length-range", 0]]}),
            "Invalid Policy: Invalid content-length-range: wrong number of arguments.",
        ),
        (
            base64.b64encode(
                f'{{"expiration": "{FUTURE}", "conditions": [["content-length-range", 0, 512.0]]}}'.encode()
            ).decode(),
            "Invalid Policy: Invalid JSON.",
        ),
    ],
)
def test_a_malformed_policy_is_an_invalid_policy_document(policy, message):
    error = refusal(parse_policy, policy)
    assert (error.status, error.code, error.message) == (400, "InvalidPolicyDocument", message)


def form_of(*fields: tuple[str, str], size: int = 5) -> UploadForm:
    return read_form([("key", "k"), *fields], [("file", Upload())], b"x" * size)


def check(conditions: list[Any], form: UploadForm, bucket: str = "b") -> None:
    policy = parse_policy(encoded({"expiration": FUTURE, "conditions": [{"bucket": "b"}, {"key": "k"}, *conditions]}))
    check_policy(policy, form, bucket, frozenset({"file", "policy"}), at("2030-01-01T00:00:00Z"))


def test_condition_names_are_case_insensitive_and_values_case_sensitive():
    check([["StArTs-WiTh", "$CoNtEnT-TyPe", "text/"]], form_of(("content-type", "text/plain")))
    error = refusal(check, [["eq", "$acl", "private"]], form_of(("ACL", "Private")))
    assert error.message == 'Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "private"]'


def test_starts_with_nothing_allows_any_value_but_needs_the_field():
    check([["starts-with", "$x-amz-meta-tag", ""]], form_of(("x-amz-meta-tag", "anything")))
    error = refusal(check, [["starts-with", "$x-amz-meta-tag", ""]], form_of())
    assert "Policy Condition failed" in error.message


def test_repeated_fields_are_matched_as_one_comma_separated_value():
    check([{"x-amz-meta-tag": "Ninja,Stallman"}], form_of(("x-amz-meta-tag", "Ninja"), ("x-amz-meta-tag", "Stallman")))


def test_extra_fields_are_named_as_sent_and_x_ignore_fields_are_not_extra():
    check([], form_of(("x-ignore-flash", "1")))
    error = refusal(check, [], form_of(("Filename", "a.png"), ("dzuuid", "1")))
    assert error.message == "Invalid according to Policy: Extra input fields: Filename, dzuuid"


def test_content_length_range_bounds_are_inclusive_and_may_be_strings():
    check([["content-length-range", "5", "10"]], form_of(size=5))
    check([["content-length-range", 5, 10]], form_of(size=10))
    small = refusal(check, [["content-length-range", 5, 10]], form_of(size=4))
    large = refusal(check, [["content-length-range", 5, 10]], form_of(size=11))
    assert (small.code, small.elements) == ("EntityTooSmall", (("ProposedSize", "4"), ("MinSizeAllowed", "5")))
    assert (large.code, large.elements) == ("EntityTooLarge", (("ProposedSize", "11"), ("MaxSizeAllowed", "10")))
    odd = refusal(check, [["content-length-range", "test", "10"]], form_of())
    assert odd.message == 'Invalid according to Policy: Policy Condition failed: ["content-length-range", "test", "10"]'


def test_filename_is_taken_without_the_path_a_browser_may_send():
    class WindowsUpload:
        filename = "C:\\Users\\eric\\My Pictures\\cat.jpg"

    form = read_form([("key", "user/eric/${filename}")], [("file", WindowsUpload())], b"x")
    assert form.get("key") == "user/eric/cat.jpg"
