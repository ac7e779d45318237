"""The JWT authorizer block: its template, its function's checks (one test per attack class), the JWKS cache, and
a policy that stays right under API Gateway's result cache.

The same attacks are sent through the sandbox's API Gateway by the api-authorizer pattern's end-to-end tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk.assertions import Match, Template
from cryptography.hazmat.primitives import serialization
from jwt_tokens import AUDIENCE, ISSUER, TestIssuer, b64url, rsa_key, signed_token, unsigned_token

from awspatterns.blocks import JwtAuthorizer
from awspatterns.blocks.jwt_authorizer import TOKEN_VALIDATION_REGEX
from awspatterns.blocks.jwt_authorizer_handler import index
from awspatterns.sandbox.gateway.authorizers import policy_allows
from awspatterns.testing import FakeLambdaContext

ROUTES = {"GET /items": ("items:read",), "POST /items": ("items:write",), "GET /items/{id}": ("items:read",)}
BASE = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod"
GET_ITEMS = f"{BASE}/GET/items"
POST_ITEMS = f"{BASE}/POST/items"


class FakeJwks:
    """A JWKS endpoint stand-in that counts fetches and can fail."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.calls = 0
        self.failing = False

    def __call__(self, url: str, timeout_s: float) -> dict[str, Any]:
        self.calls += 1
        if self.failing:
            raise OSError("connection refused")
        return self.document


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
def jwks(issuer) -> FakeJwks:
    return FakeJwks(issuer.jwks())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def authorizer(jwks, clock) -> index.TokenAuthorizer:
    config = index.AuthorizerConfig("https://issuer.example.test/jwks.json", ISSUER, AUDIENCE, ROUTES)
    cache = index.JwksCache(config.jwks_url, ttl_s=600, cooldown_s=30, timeout_s=2, fetch=jwks, clock=clock)
    return index.TokenAuthorizer(config, cache)


def refused(authorizer: index.TokenAuthorizer, header: str, match: str) -> None:
    with pytest.raises(index.Rejected, match=match):
        authorizer.authorize(header, GET_ITEMS)


# ---------------------------------------------------------------- valid tokens and the policy
def test_a_valid_token_gets_a_policy_for_its_scopes_and_the_principal_in_the_context(authorizer, issuer):
    answer = authorizer.authorize(issuer.bearer(sub="alice", scope="items:read"), GET_ITEMS)
    assert answer["principalId"] == "alice"
    assert answer["context"] == {"sub": "alice", "scope": "items:read"}
    policy = answer["policyDocument"]
    assert policy_allows(policy, GET_ITEMS) is True
    assert policy_allows(policy, f"{BASE}/GET/items/42") is True
    assert policy_allows(policy, POST_ITEMS) is False  # explicit Deny: 403


def test_the_policy_is_the_same_whichever_route_asked_so_a_cached_allow_opens_nothing_else(authorizer, issuer):
    token = issuer.bearer(scope="items:read")
    first = authorizer.authorize(token, GET_ITEMS)
    assert authorizer.authorize(token, POST_ITEMS) == first
    # cached after GET /items, the answer must still refuse POST /items and any route outside the map
    assert policy_allows(first["policyDocument"], POST_ITEMS) is False
    assert not policy_allows(first["policyDocument"], f"{BASE}/DELETE/items")
    assert not policy_allows(first["policyDocument"], "arn:aws:execute-api:us-east-1:123456789012:other/prod/GET/items")


def test_a_token_with_every_scope_is_allowed_everywhere_in_the_map(authorizer, issuer):
    policy = authorizer.authorize(issuer.bearer(scope="items:write items:read"), GET_ITEMS)["policyDocument"]
    assert all(policy_allows(policy, arn) for arn in (GET_ITEMS, POST_ITEMS, f"{BASE}/GET/items/1"))
    assert [s["Effect"] for s in policy["Statement"]] == ["Allow"]


def test_a_token_without_any_mapped_scope_is_denied_everything(authorizer, issuer):
    policy = authorizer.authorize(issuer.bearer(scope="profile"), GET_ITEMS)["policyDocument"]
    assert not any(policy_allows(policy, arn) for arn in (GET_ITEMS, POST_ITEMS, f"{BASE}/GET/items/1"))


def test_route_resources():
    assert index.route_resource(BASE, "GET /items/{id}") == f"{BASE}/GET/items/*"
    assert index.route_resource(BASE, "ANY /{proxy+}") == f"{BASE}/*/*"
    assert index.route_resource(BASE, "GET /") == f"{BASE}/GET/"


def test_clock_skew_tolerates_a_token_expired_a_few_seconds_ago(authorizer, issuer):
    now = int(time.time())
    assert authorizer.authorize(issuer.bearer(exp=now - 10), GET_ITEMS)["principalId"] == "user-1"
    assert authorizer.authorize(issuer.bearer(nbf=now + 10, iat=now + 10), GET_ITEMS)["principalId"] == "user-1"


# ---------------------------------------------------------------- bad input: one test per attack class
def test_alg_none_is_refused(authorizer, issuer):
    claims = issuer.claims()
    unsigned = unsigned_token(claims, {"alg": "none", "typ": "JWT", "kid": issuer.kid})
    refused(authorizer, f"Bearer {unsigned}", "three base64url segments")
    refused(authorizer, f"Bearer {unsigned}c2ln", "algorithm 'none' is not RS256")


def test_hs256_signed_with_the_public_key_is_refused(authorizer, issuer):
    public_pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = ".".join(
        b64url(json.dumps(part).encode()) for part in ({"alg": "HS256", "kid": issuer.kid}, issuer.claims())
    )
    signature = b64url(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    refused(authorizer, f"Bearer {signing_input}.{signature}", "algorithm 'HS256' is not RS256")


def test_an_unknown_kid_is_refused_after_at_most_one_refetch_per_cooldown(authorizer, issuer, jwks, clock):
    assert authorizer.authorize(issuer.bearer(), GET_ITEMS)
    assert jwks.calls == 1
    stranger = TestIssuer(kid="key-9", key=rsa_key("other"))
    refused(authorizer, stranger.bearer(), "no key 'key-9'")
    assert jwks.calls == 1  # the keys were fetched less than a cooldown ago
    clock.now += 31
    for _ in range(5):
        refused(authorizer, stranger.bearer(), "no key 'key-9'")
    assert jwks.calls == 2  # one refetch for the unknown kid, then the cooldown holds
    clock.now += 31
    refused(authorizer, stranger.bearer(), "no key 'key-9'")
    assert jwks.calls == 3


def test_a_new_kid_after_key_rotation_is_found_by_one_refetch(authorizer, issuer, jwks, clock):
    assert authorizer.authorize(issuer.bearer(), GET_ITEMS)
    rotated = TestIssuer(kid="key-2", key=rsa_key("rotated"))
    jwks.document = issuer.jwks(rotated.jwk())
    clock.now += 31
    assert authorizer.authorize(rotated.bearer(), GET_ITEMS)["principalId"] == "user-1"
    assert jwks.calls == 2


def test_a_signature_from_another_key_is_refused(authorizer, issuer):
    refused(authorizer, issuer.bearer(key=rsa_key("attacker")), "InvalidSignatureError")


def test_a_tampered_payload_is_refused(authorizer, issuer):
    header, _, signature = issuer.token(scope="items:read").split(".")
    forged = b64url(json.dumps(issuer.claims(scope="items:read items:write", sub="admin")).encode())
    refused(authorizer, f"Bearer {header}.{forged}.{signature}", "InvalidSignatureError")


def test_an_expired_token_is_refused(authorizer, issuer):
    refused(authorizer, issuer.bearer(exp=int(time.time()) - 31), "ExpiredSignatureError")


def test_a_token_not_yet_valid_is_refused(authorizer, issuer):
    now = int(time.time())
    refused(authorizer, issuer.bearer(nbf=now + 120), "ImmatureSignatureError")
    refused(authorizer, issuer.bearer(iat=now + 120), "ImmatureSignatureError")


@pytest.mark.parametrize("claim", index.REQUIRED_CLAIMS)
def test_a_token_missing_a_required_claim_is_refused(authorizer, issuer, claim):
    refused(authorizer, issuer.bearer(**{claim: None}), f'MissingRequiredClaimError: .*"{claim}"')


def test_an_empty_or_non_string_subject_or_scope_is_refused(authorizer, issuer):
    refused(authorizer, issuer.bearer(sub=""), "sub must be a non-empty string")
    refused(authorizer, issuer.bearer(sub=42), "(?i)subject")
    refused(authorizer, issuer.bearer(scope=["items:read", "items:write"]), "scope a string")


def test_a_wrong_issuer_is_refused(authorizer, issuer):
    refused(authorizer, issuer.bearer(iss="https://evil.example.test/"), "InvalidIssuerError")
    refused(authorizer, issuer.bearer(iss=ISSUER.rstrip("/")), "InvalidIssuerError")


def test_a_wrong_audience_is_refused(authorizer, issuer):
    refused(authorizer, issuer.bearer(aud="another-api"), "InvalidAudienceError")
    refused(authorizer, issuer.bearer(aud=["another-api"]), "InvalidAudienceError")


def test_an_oversized_token_is_refused_before_it_is_parsed(authorizer, issuer):
    refused(authorizer, issuer.bearer(padding="x" * 4096), "larger than 4096 bytes")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer abc",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer a+b.c/d.e==",
        "Bearer  a.b.c",
        "Bearer a.b.c\n",
    ],
)
def test_malformed_segments_are_refused(authorizer, header):
    refused(authorizer, header, "three base64url segments")


def test_malformed_base64_or_json_in_the_header_is_refused(authorizer, issuer):
    _, payload, signature = issuer.token().split(".")
    refused(authorizer, f"Bearer A.{payload}.{signature}", "malformed token header")  # impossible base64 length
    refused(authorizer, f"Bearer {b64url(b'not json')}.{payload}.{signature}", "malformed token header")
    refused(authorizer, f"Bearer {b64url(b'[1]')}.{payload}.{signature}", "malformed token header")


def test_a_scheme_other_than_bearer_is_refused(authorizer, issuer):
    refused(authorizer, f"Basic {base64.b64encode(b'user:password').decode()}", "three base64url segments")
    refused(authorizer, issuer.token(), "three base64url segments")  # no scheme at all
    refused(authorizer, f"Token {issuer.token()}", "three base64url segments")


def test_scope_escalation_is_denied_by_the_policy(authorizer, issuer):
    for scope in ("items:read", "items:read items:writer", "items:*", "ITEMS:WRITE"):
        policy = authorizer.authorize(issuer.bearer(scope=scope), POST_ITEMS)["policyDocument"]
        assert policy_allows(policy, POST_ITEMS) is False, scope
    # a scope smuggled in another claim does not count
    policy = authorizer.authorize(issuer.bearer(scp=["items:write"], scopes="items:write"), POST_ITEMS)
    assert policy_allows(policy["policyDocument"], POST_ITEMS) is False


def test_a_jwks_fetch_failure_fails_closed_and_is_retried_after_the_cooldown(authorizer, issuer, jwks, clock):
    jwks.failing = True
    for _ in range(3):
        refused(authorizer, issuer.bearer(), "JWKS")
    assert jwks.calls == 1  # failures are rate limited too
    jwks.failing = False
    clock.now += 31
    assert authorizer.authorize(issuer.bearer(), GET_ITEMS)


def test_expired_keys_are_not_used_when_the_jwks_cannot_be_fetched_again(authorizer, issuer, jwks, clock):
    assert authorizer.authorize(issuer.bearer(), GET_ITEMS)
    jwks.failing = True
    clock.now += 601
    refused(authorizer, issuer.bearer(), "could not be fetched")


def test_keys_are_cached_across_invocations(authorizer, issuer, jwks):
    for _ in range(5):
        authorizer.authorize(issuer.bearer(), GET_ITEMS)
    assert jwks.calls == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"jku": "https://evil.example.test/jwks.json"},
        {"x5u": "https://evil.example.test/cert.pem"},
        {"x5c": ["MIIB"]},
        {"crit": ["exp"]},
    ],
)
def test_key_injection_headers_are_refused(authorizer, issuer, headers):
    refused(authorizer, issuer.bearer(headers=headers), "the token header carries|critical extension")


def test_an_embedded_jwk_is_refused(authorizer, issuer):
    attacker = TestIssuer(key=rsa_key("attacker"))
    refused(authorizer, attacker.bearer(headers={"jwk": attacker.jwk()}), "the token header carries")


@pytest.mark.parametrize("kid", [None, 7, "", "k" * 129])
def test_an_unusable_kid_is_refused(authorizer, issuer, kid):
    header = {"alg": "RS256", "typ": "JWT", **({"kid": kid} if kid is not None else {})}
    token = signed_token(header, issuer.claims(), issuer.key)
    refused(authorizer, f"Bearer {token}", "no usable kid|malformed token header")


def test_jwks_entries_that_are_not_rs256_signing_keys_are_ignored(issuer):
    weak = TestIssuer(kid="weak", key=rsa_key("weak", 1024))
    encryption = {**TestIssuer(kid="enc", key=rsa_key("enc")).jwk(), "use": "enc"}
    other_alg = {**TestIssuer(kid="ps", key=rsa_key("ps")).jwk(), "alg": "PS256"}
    document = issuer.jwks(weak.jwk(), encryption, other_alg, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}, "junk")
    assert set(index._signing_keys(document)) == {issuer.kid}


# ---------------------------------------------------------------- the handler, with its JWKS served over HTTP
class JwksServer:
    """Serves a JWKS document on 127.0.0.1 (a loopback host, where http is allowed) and counts requests."""

    def __init__(self, document: dict[str, Any]) -> None:
        outer = self
        self.document = document
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server(issuer):
    server = JwksServer(issuer.jwks())
    yield server
    server.close()


@pytest.fixture
def configured(monkeypatch, jwks_server):
    environment = {
        "JWKS_URL": jwks_server.url,
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "ROUTE_SCOPES": json.dumps({k: list(v) for k, v in ROUTES.items()}),
        "JWKS_REFRESH_COOLDOWN_SECONDS": "30",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(index, "_authorizer", None)
    return jwks_server


def event(token: str, method_arn: str = GET_ITEMS) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}


def test_the_handler_fetches_the_jwks_once_and_answers_with_the_policy(configured, issuer):
    for _ in range(3):
        answer = index.handler(event(issuer.bearer(sub="bob")), FakeLambdaContext())
        assert answer["principalId"] == "bob"
    assert configured.requests == 1


def test_the_handler_answers_exactly_unauthorized_for_a_bad_token(configured, issuer):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        index.handler(event(issuer.bearer(aud="another-api")), FakeLambdaContext())


def test_the_handler_fails_closed_when_the_jwks_is_unreachable(configured, issuer):
    configured.close()
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        index.handler(event(issuer.bearer()), FakeLambdaContext())


def test_the_handler_fails_closed_on_a_malformed_event_or_configuration(configured, issuer, monkeypatch):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        index.handler({"type": "REQUEST", "methodArn": GET_ITEMS}, FakeLambdaContext())
    monkeypatch.setenv("ROUTE_SCOPES", "not json")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        index.handler(event(issuer.bearer()), FakeLambdaContext())


def test_the_handler_never_logs_the_token(configured, issuer, caplog):
    token = issuer.token()
    index.handler(event(f"Bearer {token}"), FakeLambdaContext())
    with pytest.raises(Exception, match="Unauthorized"):
        index.handler(event(f"Bearer {token}x"), FakeLambdaContext())
    assert "token refused" in caplog.messages and "token accepted" in caplog.messages
    logged = " ".join(repr(vars(record)) for record in caplog.records)
    assert token.split(".")[2][:20] not in logged and token.split(".")[1][:20] not in logged


# ---------------------------------------------------------------- the JWKS URL: https, http only on loopback
@pytest.mark.parametrize(
    "url", ["https://issuer.example.test/jwks", "http://127.0.0.1:9/jwks", "http://localhost:9/j", "http://[::1]/j"]
)
def test_jwks_urls_accepted(url):
    assert index._checked_jwks_url(url) == url


@pytest.mark.parametrize(
    "url", ["http://issuer.example.test/jwks", "http://10.0.0.1/jwks", "file:///etc/passwd", "ftp://x/j", "https:///j"]
)
def test_jwks_urls_refused(url):
    with pytest.raises(ValueError, match="https"):
        index._checked_jwks_url(url)


def test_in_the_sandbox_an_execute_api_jwks_url_is_served_by_the_local_gateway(monkeypatch):
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/.well-known/jwks.json"
    assert index._checked_jwks_url(url) == url
    monkeypatch.setenv(index.SANDBOX_EXECUTE_API_ENDPOINT, "http://localhost:4510")
    assert index._checked_jwks_url(url) == "http://localhost:4510/abc123/prod/.well-known/jwks.json"
    monkeypatch.setenv(index.SANDBOX_EXECUTE_API_ENDPOINT, "http://gateway.example.test")
    with pytest.raises(ValueError, match="https"):  # the allowance is for loopback hosts only
        index._checked_jwks_url(url)


# ---------------------------------------------------------------- the construct
@pytest.fixture(scope="module")
def template() -> Template:
    stack = cdk.Stack(cdk.App(), "Blocks")
    api = apigateway.RestApi(stack, "Api")
    block = JwtAuthorizer(
        stack,
        "ItemsAuth",
        jwks_url="https://issuer.example.test/.well-known/jwks.json",
        issuer=ISSUER,
        audience=AUDIENCE,
        route_scopes={"GET /items": ["items:read"]},
    )
    api.root.add_resource("items").add_method("GET", apigateway.MockIntegration(), authorizer=block.authorizer)
    return Template.from_stack(stack)


def test_the_block_makes_a_token_authorizer_with_a_validation_regex_and_a_result_cache(template):
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentitySource": "method.request.header.Authorization",
            "IdentityValidationExpression": TOKEN_VALIDATION_REGEX,
            "AuthorizerResultTtlInSeconds": 300,
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "index.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "ISSUER": ISSUER,
                        "AUDIENCE": AUDIENCE,
                        "ROUTE_SCOPES": '{"GET /items": ["items:read"]}',
                        "CLOCK_SKEW_SECONDS": "30",
                        "MAX_TOKEN_BYTES": "4096",
                    }
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission", {"Principal": "apigateway.amazonaws.com", "Action": "lambda:InvokeFunction"}
    )


def test_the_validation_regex_and_the_handler_agree(issuer):
    for header in (issuer.bearer(), "Bearer a.b.", "Basic a.b.c", "Bearer a.b.c.d", "Bearer a=.b.c"):
        assert bool(re.fullmatch(TOKEN_VALIDATION_REGEX, header)) == bool(index.TOKEN_PATTERN.fullmatch(header))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"jwks_url": "http://issuer.example.test/jwks"}, "https"),
        ({"route_scopes": {}}, "at least one route"),
        ({"route_scopes": {"/items": ["a"]}}, "METHOD /path"),
        ({"route_scopes": {"FETCH /items": ["a"]}}, "METHOD /path"),
        ({"route_scopes": {"GET /items": "items:read"}}, "list of scope names"),
        ({"route_scopes": {"GET /items": ["items read"]}}, "list of scope names"),
        ({"max_token_bytes": 20000}, "max_token_bytes"),
    ],
)
def test_the_block_refuses_bad_props(kwargs, message):
    props: dict[str, Any] = {
        "jwks_url": "https://issuer.example.test/jwks",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "route_scopes": {"GET /items": ["items:read"]},
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        JwtAuthorizer(cdk.Stack(cdk.App(), "S"), "Auth", **props)
