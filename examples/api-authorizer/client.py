"""Drive the api-authorizer pattern: mint tokens with the demo issuer's key and call the API with each.

Run it with ``patterns run api-authorizer`` (deploys first if needed), or directly against a deployed stack:
``python client.py`` (uses the ``ApiAuthorizer`` stack's outputs and the usual AWS environment). Any JWT library
in any language does the same: read the secret's ``privateKeyPem`` and ``kid``, sign RS256 with ``kid`` in the
header and the ``Issuer`` and ``Audience`` outputs as ``iss`` and ``aud``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

STACK_NAME = "ApiAuthorizer"


# --8<-- [start:mint]
def mint(
    outputs: dict[str, str], signing_key: dict[str, str], *, scope: str, lifetime_s: int = 300, **claims: Any
) -> str:
    """An RS256 token from the demo issuer; ``claims`` override the standard ones (``None`` removes one)."""
    now = int(time.time())
    payload = {
        "iss": outputs["Issuer"],
        "aud": outputs["Audience"],
        "sub": "reader@example.com",
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, signing_key["privateKeyPem"], algorithm="RS256", headers={"kid": signing_key["kid"]})


# --8<-- [end:mint]


def call(url: str, method: str = "GET", token: str | None = None, body: Any = None) -> dict[str, Any]:
    """One HTTP request; returns the status, the JSON (or text) body and the WWW-Authenticate header."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = token if token.startswith(("Bearer ", "Basic ")) else f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (the API's URL)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, raw, challenge = response.status, response.read(), response.headers.get("WWW-Authenticate")
    except urllib.error.HTTPError as error:
        status, raw, challenge = error.code, error.read(), error.headers.get("WWW-Authenticate")
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return {"status": status, "body": parsed, "challenge": challenge}


def _unsigned(token: str) -> str:
    """The same claims with ``alg: none`` and no signature."""
    _, payload, _ = token.split(".")
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).decode()
    return f"{header}.{payload}."


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session) -> dict[str, Any]:
    """Call ``/items`` with a token per case and report each answer: who got in, who was refused and how."""
    signing_key = json.loads(
        session.client("secretsmanager").get_secret_value(SecretId=outputs["SigningKeySecretArn"])["SecretString"]
    )
    items = outputs["ItemsUrl"]
    reader = mint(outputs, signing_key, scope="items:read")
    writer = mint(outputs, signing_key, scope="items:read items:write", sub="writer@example.com")
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        jwt.decode(reader, options={"verify_signature": False}),
        stranger_key,
        algorithm="RS256",
        headers={"kid": signing_key["kid"]},
    )
    cases = [
        ("read token lists the items", "GET", reader, None, 200),
        ("read token cannot create an item", "POST", reader, {"name": "stapler"}, 403),
        ("write token creates an item", "POST", writer, {"name": "stapler"}, 201),
        ("write token with an invalid body", "POST", writer, {"name": 42}, 400),
        ("no token", "GET", None, None, 401),
        ("Basic credentials instead of a token", "GET", "Basic dXNlcjpwYXNzd29yZA==", None, 401),
        ("expired token", "GET", mint(outputs, signing_key, scope="items:read", exp=int(time.time()) - 600), None, 401),
        ("token signed by another key", "GET", forged, None, 401),
        ("alg none token", "GET", _unsigned(reader), None, 401),
        ("token for another audience", "GET", mint(outputs, signing_key, scope="items:read", aud="other"), None, 401),
    ]
    results = []
    for name, method, token, body, expected in cases:
        answer = call(items, method, token, body)
        results.append({"case": name, "method": method, "expected": expected, **answer})
    return {"url": items, "kid": signing_key["kid"], "results": results}


# --8<-- [end:run]


def format_report(report: dict[str, Any]) -> str:
    """What happened, one line per request."""
    lines = [f"Called {report['url']} with tokens signed by key {report['kid']} (and some that were not):"]
    for result in report["results"]:
        verdict = "as expected" if result["status"] == result["expected"] else f"EXPECTED {result['expected']}"
        body = result["body"]
        caller = body.get("caller") if isinstance(body, dict) else None
        detail = (
            f"handler saw sub={caller['sub']} scopes={caller['scopes']}"
            if caller
            else f"answered by API Gateway: {json.dumps(body)[:100]}"
        )
        lines.append(f"  {result['method']:4} {result['case']}: {result['status']} ({verdict}); {detail}")
    return "\n".join(lines)


if __name__ == "__main__":
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    print(format_report(run({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}, session)))
