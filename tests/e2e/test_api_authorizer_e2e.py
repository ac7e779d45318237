"""api-authorizer end to end: deploy into a fresh sandbox account (the key pair generated at deploy time), drive the
client, send every attack class through the local API Gateway, check the result cache, destroy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_tokens import b64url, rsa_key, signed_token

pytestmark = pytest.mark.e2e

SLUG = "api-authorizer"


# --8<-- [start:e2e]
def test_tokens_get_in_by_scope_and_everything_else_is_refused_before_the_handler(deploy_pattern):
    deployed = deploy_pattern(SLUG)

    report = deployed.run_client()

    answers = {r["case"]: r for r in report["results"]}
    assert all(r["status"] == r["expected"] for r in report["results"]), answers
    assert answers["read token lists the items"]["body"]["caller"] == {
        "sub": "reader@example.com",
        "scopes": ["items:read"],
    }
    created = answers["write token creates an item"]["body"]
    assert created == {
        "caller": {"sub": "writer@example.com", "scopes": ["items:read", "items:write"]},
        "item": {"name": "stapler"},
    }
    assert answers["no token"]["body"] == {"message": "Unauthorized"}
    assert answers["no token"]["challenge"] == "Bearer"
    assert "explicit deny" in answers["read token cannot create an item"]["body"]["Message"]
    # the handler ran only for the two admitted requests (and the invalid body never reached it)
    assert invocations(deployed.session, "ItemsHandler") == 2
    assert deployed.quiesce()
    deployed.record_permissions()  # what each role was granted and what this run used, shown on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def invocations(session, function_block: str) -> int:
    """How many times a function ran: the START lines in its block's log group (``<block>Logs...``)."""
    resources = session.client("cloudformation").describe_stack_resources(StackName="ApiAuthorizer")["StackResources"]
    [group] = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Logs::LogGroup" and r["LogicalResourceId"].startswith(f"{function_block}Logs")
    ]
    logs = session.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=group, filterPattern="START")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return 0
    return sum(e["message"].startswith("START") for e in events)


class Api:
    """The deployed API, a way to mint tokens with the demo issuer's key, and the authorizer's invocation count."""

    def __init__(self, deployed) -> None:
        from awspatterns.targets.base import load_client

        self.deployed = deployed
        self.client = load_client(deployed.pattern)
        self.outputs = deployed.flat_outputs
        secret = deployed.session.client("secretsmanager").get_secret_value(
            SecretId=self.outputs["SigningKeySecretArn"]
        )
        self.key = json.loads(secret["SecretString"])

    def token(self, **claims: Any) -> str:
        claims.setdefault("scope", "items:read")
        return self.client.mint(self.outputs, self.key, **claims)  # type: ignore[no-any-return]

    def claims(self, **claims: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.outputs["Issuer"],
            "aud": self.outputs["Audience"],
            "sub": "attacker",
            "scope": "items:read",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        return {k: v for k, v in {**base, **claims}.items() if v is not None}

    def get(self, authorization: str | None, method: str = "GET", body: Any = None) -> dict[str, Any]:
        return self.client.call(self.outputs["ItemsUrl"], method, authorization, body)  # type: ignore[no-any-return]

    def authorizer_invocations(self) -> int:
        return invocations(self.deployed.session, "ItemsAuthorizerFunction")


@pytest.fixture(scope="module")
def api_deployment(sandbox, tmp_path_factory):
    """One deployment for the attack suite (each attack is a request; none changes what the next one sees)."""
    import random

    from awspatterns.catalog import get_pattern
    from awspatterns.pytest_plugin import DeployedPattern
    from awspatterns.sandbox.inventory import inventory
    from awspatterns.synth import synth
    from awspatterns.targets import assembly_deployer

    pattern = get_pattern(SLUG)
    assembly = synth(pattern, tmp_path_factory.mktemp("api-authorizer") / "cdk.out")
    session = sandbox.session(str(random.randint(10**11, 10**12 - 1)))
    assembly_deployer.bootstrap(session)
    before = inventory(session)
    outputs = sandbox.local_outputs(
        assembly_deployer.deploy_assembly(session, assembly.directory, progress=lambda _: None)
    )
    deployed = DeployedPattern(pattern, session, sandbox, assembly.directory, outputs, before)
    yield Api(deployed)
    assert deployed.destroy() == {}


def test_the_jwks_is_served_publicly_and_names_the_signing_key(api_deployment):
    jwks = api_deployment.client.call(api_deployment.outputs["JwksUrl"])
    assert jwks["status"] == 200
    [key] = jwks["body"]["keys"]
    assert key["kid"] == api_deployment.key["kid"] == api_deployment.outputs["SigningKeyId"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in key  # the public half only


def b64(data: dict[str, Any]) -> str:
    return str(b64url(json.dumps(data).encode()))


def attacks(api: Api) -> dict[str, str | None]:
    """One Authorization header per attack class, each of which API Gateway must answer with 401."""
    kid = api.key["kid"]
    valid = api.token()
    header, payload, signature = valid.split(".")
    jwk = api.client.call(api.outputs["JwksUrl"])["body"]["keys"][0]
    public = pyjwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    assert isinstance(public, rsa.RSAPublicKey)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    confused_input = f"{b64({'alg': 'HS256', 'kid': kid})}.{b64(api.claims())}"
    confused = f"{confused_input}.{b64url(hmac.new(pem, confused_input.encode(), hashlib.sha256).digest())}"
    now = int(time.time())
    other = rsa_key("attacker")
    return {
        "missing header": None,
        "alg none": f"Bearer {b64({'alg': 'none', 'kid': kid})}.{b64(api.claims())}.",
        "alg none with a junk signature": f"Bearer {b64({'alg': 'none', 'kid': kid})}.{b64(api.claims())}.eA",
        "HS256 keyed with the public key": f"Bearer {confused}",
        "unknown kid": f"Bearer {signed_token({'alg': 'RS256', 'kid': 'nope'}, api.claims(), rsa_key('x'))}",
        "signature from another key": f"Bearer {signed_token({'alg': 'RS256', 'kid': kid}, api.claims(), other)}",
        "tampered payload": f"Bearer {header}.{b64(api.claims(scope='items:read items:write'))}.{signature}",
        "expired": f"Bearer {api.token(exp=now - 120)}",
        "not yet valid": f"Bearer {api.token(nbf=now + 600)}",
        "missing sub": f"Bearer {api.token(sub=None)}",
        "missing exp": f"Bearer {api.token(exp=None)}",
        "wrong issuer": f"Bearer {api.token(iss='https://evil.example.test/')}",
        "wrong audience": f"Bearer {api.token(aud='another-api')}",
        "oversized": f"Bearer {api.token(padding='x' * 5000)}",
        "malformed segments": "Bearer abc.def",
        "malformed base64": f"Bearer A.{payload}.{signature}",
        "wrong scheme": f"Basic {base64.b64encode(b'reader:password').decode()}",
        "embedded jwk": "Bearer "
        + signed_token({"alg": "RS256", "kid": kid, "jwk": {"kty": "RSA"}}, api.claims(), rsa_key("x")),
    }


def test_every_attack_class_is_refused_with_401_through_the_gateway(api_deployment):
    for name, authorization in attacks(api_deployment).items():
        answer = api_deployment.get(authorization)
        assert (answer["status"], answer["body"]) == (401, {"message": "Unauthorized"}), name


def test_scope_escalation_is_refused_with_403(api_deployment):
    reader = api_deployment.token(scope="items:read items:writer items:*")
    answer = api_deployment.get(reader, "POST", {"name": "x"})
    assert answer["status"] == 403


def test_a_cached_allow_for_one_route_does_not_open_another(api_deployment):
    reader = api_deployment.token(scope="items:read", sub="cache-check")
    before = api_deployment.authorizer_invocations()
    assert api_deployment.get(reader)["status"] == 200
    assert api_deployment.get(reader, "POST", {"name": "x"})["status"] == 403  # from the cached policy
    assert api_deployment.get(reader)["status"] == 200
    assert api_deployment.authorizer_invocations() == before + 1  # one call, then the cache


def test_the_jwks_fetch_failing_fails_closed(api_deployment):
    """The authorizer cannot reach its JWKS (here: the URL points nowhere): every token is refused with 401."""
    functions = api_deployment.deployed.session.client("lambda")
    name = api_deployment.outputs["AuthorizerFunctionName"]
    configuration = functions.get_function_configuration(FunctionName=name)
    variables = configuration["Environment"]["Variables"]
    functions.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {**variables, "JWKS_URL": "https://127.0.0.1:9/.well-known/jwks.json"}},
    )
    try:
        answer = api_deployment.get(f"Bearer {api_deployment.token(sub='after-outage')}")
        assert (answer["status"], answer["body"]) == (401, {"message": "Unauthorized"})
    finally:
        functions.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
