"""A Lambda TOKEN authorizer for REST APIs that verifies RS256 JWTs against an issuer's JWKS, with per-route scopes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from constructs import Construct

from awspatterns.blocks.dependencies import DependenciesLayer
from awspatterns.blocks.functions import PythonFunction

__all__ = ["HANDLER_DIR", "TOKEN_VALIDATION_REGEX", "JwtAuthorizer"]

#: The authorizer function's code, shipped inside this package (``index.handler``).
HANDLER_DIR = Path(__file__).with_name("jwt_authorizer_handler")
#: API Gateway refuses (401) a header not shaped ``Bearer <b64url>.<b64url>.<b64url>`` before invoking the function.
TOKEN_VALIDATION_REGEX = r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$"  # noqa: S105 (a pattern, not a secret)
_ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) /[^\s*]*$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 scope-token characters


# --8<-- [start:block]
class JwtAuthorizer(Construct):
    """A TOKEN authorizer that admits ``Authorization: Bearer <JWT>`` requests carrying the scopes a route needs.

    The function (code in ``jwt_authorizer_handler/index.py``) accepts only RS256 tokens signed by a key of the
    issuer's JWKS, fetched over HTTPS and cached across invocations, with ``iss``, ``aud``, ``exp``, ``nbf``,
    ``iat`` and ``sub`` required and checked with ``clock_skew`` of leeway; anything else, a JWKS it cannot fetch
    included, is a 401. Its policy allows every route of ``route_scopes`` whose scopes the token's ``scope`` claim
    holds and denies the others, whatever route the request was for: API Gateway caches it by token for
    ``results_cache_ttl`` and the cached answer stays right on every route. A valid token lacking a route's scopes
    gets 403. The integration receives ``sub`` and ``scope`` in the authorizer context.

    Args:
        scope: the parent construct.
        construct_id: the block's id.
        jwks_url: where the issuer publishes its keys (``https://``; a CloudFormation token is fine).
        issuer: the exact ``iss`` tokens must carry.
        audience: the ``aud`` tokens must carry (this API's identifier at the issuer).
        route_scopes: ``"METHOD /path"`` (API Gateway resource paths, ``{param}`` allowed, ``ANY`` for every
            method) -> the scopes a token needs for it, all of them. A route not listed is never allowed.
        results_cache_ttl: how long API Gateway reuses a decision for the same token (zero: no caching; at most
            one hour).
        clock_skew: leeway for ``exp``, ``nbf`` and ``iat``.
        max_token_bytes: the longest ``Authorization`` header accepted.
        jwks_cache_ttl: how long fetched keys are used before fetching the JWKS again.
        jwks_refresh_cooldown: the least time between two fetches (how often an unknown ``kid`` may cause one).
        jwks_timeout: the JWKS request's timeout.

    Attributes:
        function: the authorizer's ``PythonFunction`` block.
        dependencies: its layer of PyJWT and cryptography (``requirements.txt`` beside its code).
        authorizer: the ``apigateway.TokenAuthorizer`` to pass to ``add_method(..., authorizer=...)``.
        route_scopes: the route map, as given.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        route_scopes: Mapping[str, Sequence[str]],
        results_cache_ttl: cdk.Duration = cdk.Duration.minutes(5),
        clock_skew: cdk.Duration = cdk.Duration.seconds(30),
        max_token_bytes: int = 4096,
        jwks_cache_ttl: cdk.Duration = cdk.Duration.minutes(10),
        jwks_refresh_cooldown: cdk.Duration = cdk.Duration.seconds(30),
        jwks_timeout: cdk.Duration = cdk.Duration.seconds(2),
    ) -> None:
        super().__init__(scope, construct_id)
        _check_routes(route_scopes)
        if not cdk.Token.is_unresolved(jwks_url) and not jwks_url.startswith("https://"):
            raise ValueError(f"jwks_url must be an https URL: {jwks_url!r}")
        if not 0 < max_token_bytes <= 10240:
            raise ValueError("max_token_bytes must be between 1 and 10240 (API Gateway's header limit)")
        self.route_scopes = {route: list(needs) for route, needs in route_scopes.items()}
        self.function = PythonFunction(
            self,
            "Function",
            code_dir=HANDLER_DIR,
            handler="index.handler",
            description=f"Verifies JWTs from {issuer} for {audience} and maps their scopes to routes",
            timeout=cdk.Duration.seconds(max(5, int(jwks_timeout.to_seconds()) + 3)),
            environment={
                "JWKS_URL": jwks_url,
                "ISSUER": issuer,
                "AUDIENCE": audience,
                "ROUTE_SCOPES": json.dumps(self.route_scopes, sort_keys=True),
                "CLOCK_SKEW_SECONDS": str(int(clock_skew.to_seconds())),
                "MAX_TOKEN_BYTES": str(max_token_bytes),
                "JWKS_CACHE_SECONDS": str(int(jwks_cache_ttl.to_seconds())),
                "JWKS_REFRESH_COOLDOWN_SECONDS": str(int(jwks_refresh_cooldown.to_seconds())),
                "JWKS_TIMEOUT_SECONDS": str(jwks_timeout.to_seconds()),
            },
        )
        # PyJWT and cryptography are not in Lambda's Python runtime (nor in every Powertools layer version)
        self.dependencies = DependenciesLayer(self, "Dependencies", requirements=HANDLER_DIR / "requirements.txt")
        self.function.function.add_layers(self.dependencies)
        self.authorizer = apigateway.TokenAuthorizer(
            self,
            "Default",
            handler=self.function.function,
            identity_source=apigateway.IdentitySource.header("Authorization"),
            validation_regex=TOKEN_VALIDATION_REGEX,
            results_cache_ttl=results_cache_ttl,
        )


# --8<-- [end:block]


def _check_routes(route_scopes: Mapping[str, Sequence[str]]) -> None:
    if not route_scopes:
        raise ValueError("route_scopes must name at least one route")
    for route, needs in route_scopes.items():
        if not _ROUTE.match(route):
            raise ValueError(f"route {route!r} is not 'METHOD /path' (e.g. 'GET /items/{{id}}')")
        if isinstance(needs, str) or not all(isinstance(s, str) and _SCOPE.match(s) for s in needs):
            raise ValueError(f"the scopes of {route!r} must be a list of scope names without spaces")
