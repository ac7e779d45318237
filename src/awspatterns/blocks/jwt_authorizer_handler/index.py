"""An API Gateway TOKEN authorizer that verifies an RS256-signed JWT and answers with a route-scoped IAM policy.

Every request is checked in this order, and any failure (the JWKS unreachable included) raises exactly
``Exception("Unauthorized")``, which API Gateway answers with 401: the header is at most ``MAX_TOKEN_BYTES`` and
reads ``Bearer <header>.<payload>.<signature>``; the token header names ``RS256`` (the only algorithm accepted,
never taken from the token), a ``kid``, and no key-carrying header (``jku``, ``jwk``, ``x5u``, ``x5c``) or
``crit``; the ``kid`` is a key of the issuer's JWKS (fetched over HTTPS, cached for ``JWKS_CACHE_SECONDS``,
fetched again for an unknown ``kid`` at most once per ``JWKS_REFRESH_COOLDOWN_SECONDS``); the signature verifies
with that key; ``iss``, ``aud``, ``exp``, ``nbf``, ``iat`` and ``sub`` are present and valid, with
``CLOCK_SKEW_SECONDS`` of leeway.

A valid token gets a policy that depends on the token alone, never on the route it arrived on, so a policy API
Gateway caches (keyed by the token) stays right for every other route: it allows each route in ``ROUTE_SCOPES``
whose scopes the token's ``scope`` claim holds, and denies every other route of the map. A valid token without
the scope a route needs is therefore answered 403. The context carries ``sub`` and ``scope`` to the integration.

Configuration (environment): ``JWKS_URL``, ``ISSUER``, ``AUDIENCE``, ``ROUTE_SCOPES`` (JSON: ``{"GET /items":
["items:read"]}``), ``CLOCK_SKEW_SECONDS``, ``MAX_TOKEN_BYTES``, ``JWKS_CACHE_SECONDS``,
``JWKS_REFRESH_COOLDOWN_SECONDS``, ``JWKS_TIMEOUT_SECONDS``. ``JWKS_URL`` must be ``https``; plain ``http`` is
accepted for a loopback host only (``localhost``, ``127.0.0.1``, ``::1``), which exists only in the local sandbox.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import ApiGatewayAuthorizerToken
from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "ALGORITHM",
    "KEY_HEADERS",
    "REQUIRED_CLAIMS",
    "SANDBOX_EXECUTE_API_ENDPOINT",
    "TOKEN_PATTERN",
    "AuthorizerConfig",
    "JwksCache",
    "Principal",
    "Rejected",
    "TokenAuthorizer",
    "fetch_jwks",
    "handler",
    "policy_for",
    "route_resource",
]

logger = Logger()
tracer = Tracer()

#: The only signing algorithm accepted: the issuer's keys are RSA keys for RS256.
ALGORITHM = "RS256"
#: Claims every token must carry.
REQUIRED_CLAIMS = ("iss", "aud", "exp", "nbf", "iat", "sub")
#: Token header fields that carry or point to a key (or demand extensions): a token naming one is refused,
#: since only the configured JWKS may supply keys.
KEY_HEADERS = ("jku", "jwk", "x5u", "x5c", "crit")
#: ``Bearer`` and three base64url segments, none empty (so ``alg: none`` tokens fail here already).
TOKEN_PATTERN = re.compile(r"Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")
#: Set only by the local sandbox: its API Gateway endpoint, which serves ``execute-api`` URLs there.
SANDBOX_EXECUTE_API_ENDPOINT = "AWSPATTERNS_EXECUTE_API_ENDPOINT"
_EXECUTE_API_URL = re.compile(r"^https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/")
_MAX_JWKS_BYTES = 64 * 1024
_MIN_RSA_BITS = 2048
_METHOD_ARN = re.compile(r"^(?P<base>arn:aws[\w-]*:execute-api:[\w-]+:\d{12}:[A-Za-z0-9]+/[^/]+)/[A-Z*]+/.*$")


class Rejected(Exception):
    """The token is refused; the message says why (logged, never returned to the caller)."""


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for, and the scopes it grants."""

    subject: str
    scopes: frozenset[str]


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_jwks_url(url: str) -> str:
    """The URL to fetch the JWKS from: ``https``, or ``http`` on a loopback host (the sandbox only)."""
    sandbox_gateway = os.environ.get(SANDBOX_EXECUTE_API_ENDPOINT, "")
    if sandbox_gateway and _EXECUTE_API_URL.match(url):
        url = _EXECUTE_API_URL.sub(lambda m: f"{sandbox_gateway.rstrip('/')}/{m['api']}/", url)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise ValueError(f"JWKS_URL must be an https URL (http only on a loopback host): {url!r}")


@dataclass(frozen=True)
class AuthorizerConfig:
    """What the authorizer checks tokens against (see the module docstring for the environment variables)."""

    jwks_url: str
    issuer: str
    audience: str
    route_scopes: Mapping[str, tuple[str, ...]]
    clock_skew_s: int = 30
    max_token_bytes: int = 4096
    jwks_cache_s: float = 600.0
    jwks_refresh_cooldown_s: float = 30.0
    jwks_timeout_s: float = 2.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> AuthorizerConfig:
        """Read and check the configuration; a missing or invalid value raises (the authorizer then refuses all)."""
        routes = json.loads(env["ROUTE_SCOPES"])
        if not isinstance(routes, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in routes.values()
        ):
            raise ValueError('ROUTE_SCOPES must map "METHOD /path" to a list of scopes')
        return cls(
            jwks_url=_checked_jwks_url(env["JWKS_URL"]),
            issuer=env["ISSUER"],
            audience=env["AUDIENCE"],
            route_scopes={route: tuple(scopes) for route, scopes in routes.items()},
            clock_skew_s=int(env.get("CLOCK_SKEW_SECONDS", "30")),
            max_token_bytes=int(env.get("MAX_TOKEN_BYTES", "4096")),
            jwks_cache_s=float(env.get("JWKS_CACHE_SECONDS", "600")),
            jwks_refresh_cooldown_s=float(env.get("JWKS_REFRESH_COOLDOWN_SECONDS", "30")),
            jwks_timeout_s=float(env.get("JWKS_TIMEOUT_SECONDS", "2")),
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could leave https; the JWKS URL must answer itself


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch_jwks(url: str, timeout_s: float) -> dict[str, Any]:
    """GET the JWKS document (at most 64 KiB, no redirects, a short timeout); raises on any failure."""
    with _OPENER.open(url, timeout=timeout_s) as response:
        body = response.read(_MAX_JWKS_BYTES + 1)
    if len(body) > _MAX_JWKS_BYTES:
        raise ValueError("the JWKS document is larger than 64 KiB")
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the JWKS document has no keys list")
    return document


def _signing_keys(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """The RS256 signing keys of a JWKS, by ``kid``; keys of other types or uses, or too short, are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            key = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            continue
        if key.key.key_size >= _MIN_RSA_BITS:
            keys[entry["kid"]] = key
    return keys


class JwksCache:
    """The issuer's keys, kept across invocations: fetched when missing or older than ``ttl_s``, and fetched again
    for an unknown ``kid`` (key rotation) at most once per ``cooldown_s``, successful or not, so forged ``kid``
    values cannot make the authorizer hammer the issuer. Keys past their ``ttl_s`` are never used."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: float,
        cooldown_s: float,
        timeout_s: float,
        fetch: Callable[[str, float], dict[str, Any]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.ttl_s = ttl_s
        self.cooldown_s = cooldown_s
        self.timeout_s = timeout_s
        self.fetches = 0
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # when the keys were fetched
        self._tried_at: float | None = None  # when a fetch was last attempted
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK:
        """The key with this ``kid``; raises :class:`Rejected` when there is none or the JWKS cannot be fetched."""
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self.ttl_s:
                self._keys = {}
                self._refresh(now)
            elif kid not in self._keys and self._may_try(now):
                self._refresh(now)
            if kid not in self._keys:
                raise Rejected(f"no key {kid!r} in the JWKS")
            return self._keys[kid]

    def _may_try(self, now: float) -> bool:
        return self._tried_at is None or now - self._tried_at >= self.cooldown_s

    def _refresh(self, now: float) -> None:
        if not self._may_try(now):
            raise Rejected("the JWKS is unavailable (fetch failed recently; waiting before the next attempt)")
        self._tried_at = now
        self.fetches += 1
        try:
            keys = _signing_keys(self._fetch(self.url, self.timeout_s))
        except Exception as error:
            raise Rejected(f"the JWKS could not be fetched: {type(error).__name__}: {error}") from error
        self._keys, self._fetched_at = keys, now


def route_resource(base: str, route: str) -> str:
    """The ``execute-api`` resource of a route (``GET /items/{id}`` -> ``<api>/<stage>/GET/items/*``)."""
    method, _, path = route.partition(" ")
    segments = ["*" if s.startswith("{") and s.endswith("}") else s for s in path.strip("/").split("/")]
    return f"{base}/{'*' if method == 'ANY' else method}/{'/'.join(segments)}"


def policy_for(principal: Principal, method_arn: str, route_scopes: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """The authorizer's answer for a valid token: Allow every route whose scopes the token holds, Deny the rest.

    Only the API and stage are taken from ``method_arn``, so the answer is the same for every route and may be
    cached by token. Where route patterns overlap, Deny wins: the stricter route decides.
    """
    match = _METHOD_ARN.match(method_arn)
    if match is None:
        raise Rejected(f"unexpected methodArn {method_arn!r}")
    base = match["base"]
    allowed = [route_resource(base, r) for r, needs in route_scopes.items() if set(needs) <= principal.scopes]
    denied = [route_resource(base, r) for r, needs in route_scopes.items() if not set(needs) <= principal.scopes]
    statements = [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": allowed}] if allowed else []
    if denied or not allowed:
        statements.append({"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": denied or [f"{base}/*/*"]})
    return {
        "principalId": principal.subject,
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": {"sub": principal.subject, "scope": " ".join(sorted(principal.scopes))},
    }


class TokenAuthorizer:
    """Verifies tokens against one configuration and JWKS cache (see the module docstring for the checks)."""

    def __init__(self, config: AuthorizerConfig, jwks: JwksCache | None = None) -> None:
        self.config = config
        self.jwks = jwks or JwksCache(
            config.jwks_url,
            ttl_s=config.jwks_cache_s,
            cooldown_s=config.jwks_refresh_cooldown_s,
            timeout_s=config.jwks_timeout_s,
        )

    def verify(self, authorization: str) -> Principal:
        """The principal of a valid ``Bearer`` token; raises :class:`Rejected` (with the reason) otherwise."""
        if len(authorization.encode()) > self.config.max_token_bytes:
            raise Rejected(f"the token is larger than {self.config.max_token_bytes} bytes")
        match = TOKEN_PATTERN.fullmatch(authorization)
        if match is None:
            raise Rejected("not a Bearer token of three base64url segments")
        token = match[1]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Rejected(f"malformed token header: {error}") from error
        if header.get("alg") != ALGORITHM:
            raise Rejected(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
        if carried := [name for name in KEY_HEADERS if name in header]:
            raise Rejected(f"the token header carries {carried}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= 128:
            raise Rejected("the token header has no usable kid")
        key = self.jwks.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.clock_skew_s,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": False},
            )
        except jwt.PyJWTError as error:
            raise Rejected(f"{type(error).__name__}: {error}") from error
        subject, scope = claims["sub"], claims.get("scope", "")
        if not isinstance(subject, str) or not subject or not isinstance(scope, str):
            raise Rejected("sub must be a non-empty string and scope a string")
        return Principal(subject, frozenset(scope.split()))

    def authorize(self, authorization: str, method_arn: str) -> dict[str, Any]:
        """The authorizer's response for one event; raises :class:`Rejected` for an invalid token."""
        return policy_for(self.verify(authorization), method_arn, self.config.route_scopes)


_authorizer: TokenAuthorizer | None = None


def _shared_authorizer() -> TokenAuthorizer:
    """One authorizer per execution environment, so the JWKS cache outlives each invocation."""
    global _authorizer
    if _authorizer is None:
        _authorizer = TokenAuthorizer(AuthorizerConfig.from_environment(os.environ))
    return _authorizer


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer API Gateway with a policy for a valid token, or 401 (``Unauthorized``) for anything else."""
    try:
        request = parse(event=event, model=ApiGatewayAuthorizerToken)
        response = _shared_authorizer().authorize(request.authorizationToken, request.methodArn)
    except Rejected as rejection:
        logger.info("token refused", extra={"reason": str(rejection)})
        raise Exception("Unauthorized") from None  # API Gateway answers 401 for exactly this message
    except Exception as error:  # fail closed, whatever went wrong; the type only (a message could quote the token)
        logger.error("authorizer failure: refusing the request", extra={"error": type(error).__name__})
        raise Exception("Unauthorized") from None
    logger.info("token accepted", extra={"sub": response["principalId"], "scope": response["context"]["scope"]})
    return response


# --8<-- [end:handler]
