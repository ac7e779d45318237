"""Lambda authorizers (TOKEN and REQUEST): identity sources, the validation expression, the IAM policy they return,
and result caching keyed by identity, for the authorizer's TTL."""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from awspatterns.sandbox.gateway.messages import GatewayError, GatewayRequest, describe_error

__all__ = ["LAMBDA_URI", "Authorizers", "Decision", "Identity", "function_arn", "policy_allows"]

#: ``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations``
LAMBDA_URI = re.compile(r"^arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/[\d-]+/functions/(?P<function>.+)/invocations$")


def function_arn(uri: str) -> str:
    """The function ARN inside a Lambda integration or authorizer URI."""
    match = LAMBDA_URI.match(uri or "")
    if match is None:
        raise GatewayError("API_CONFIGURATION_ERROR", f"not a Lambda invocation URI: {uri!r}")
    return match["function"]


@dataclass
class Decision:
    """An authorizer's answer: the policy, the principal and the context it passes on."""

    principal_id: str
    policy: dict[str, Any]
    context: dict[str, Any]
    expires: float


@dataclass
class Identity:
    """Where a request's identity comes from for one authorizer, and the event sent to the authorizer."""

    cache_key: tuple[str, ...]
    event: dict[str, Any]


def _source_value(source: str, request: GatewayRequest, path_parameters: dict[str, str], stage: Any) -> str | None:
    source = source.strip()
    if source.startswith("method.request.header."):
        return request.header(source.removeprefix("method.request.header."))
    if source.startswith("method.request.querystring."):
        values = request.query.get(source.removeprefix("method.request.querystring."))
        return values[-1] if values else None
    if source.startswith("method.request.path."):
        return path_parameters.get(source.removeprefix("method.request.path."))
    if source.startswith("stageVariables."):
        return (stage.variables or {}).get(source.removeprefix("stageVariables."))
    return None


def policy_allows(policy: dict[str, Any], method_arn: str) -> bool | None:
    """Evaluate an authorizer's policy for one method ARN: an explicit Deny wins, then an Allow; ``None`` when no
    statement matches (also a denial)."""
    allowed = None
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) or a == "*" for a in actions):
            continue
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


class Authorizers:
    """Runs Lambda authorizers for the gateway; one cache for the whole sandbox, keyed by authorizer and identity."""

    def __init__(self, invoke: Callable[[str, str, str, str], Any]) -> None:
        self._invoke = invoke
        self._cache: dict[tuple[str, ...], Decision] = {}
        self._lock = threading.Lock()

    def identity(
        self, authorizer: Any, request: GatewayRequest, route: Any, method_arn: str, request_context: dict[str, Any]
    ) -> Identity:
        """Read the identity sources; a missing one (or a token failing the validation expression) is a 401."""
        sources = [s for s in (authorizer.identity_source or "").split(",") if s.strip()]
        values = [_source_value(s, request, route.path_parameters, route.stage) for s in sources]
        caching = bool(authorizer.authorizer_result_ttl)
        if authorizer.type == "TOKEN":
            token = values[0] if values else None
            if not token:
                raise GatewayError("UNAUTHORIZED", f"no {sources[0] if sources else 'identity source'} in the request")
            expression = authorizer.identity_validation_expression
            if expression and not re.fullmatch(expression, token):
                raise GatewayError("UNAUTHORIZED", "the token does not match the identity validation expression")
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            return Identity((authorizer.id, token), event)
        if authorizer.type == "REQUEST":
            if caching and not all(values):
                raise GatewayError("UNAUTHORIZED", f"the request lacks an identity source of {sources}")
            request_event: dict[str, Any] = {
                "type": "REQUEST",
                "methodArn": method_arn,
                "resource": route.resource_path,
                "path": request.path,
                "httpMethod": request.method,
                "headers": {k: v[-1] for k, v in request.headers.items()},
                "multiValueHeaders": request.headers,
                "queryStringParameters": {k: v[-1] for k, v in request.query.items()} or None,
                "multiValueQueryStringParameters": request.query or None,
                "pathParameters": route.path_parameters or None,
                "stageVariables": route.stage.variables or None,
                "requestContext": request_context,
            }
            return Identity((authorizer.id, *[v or "" for v in values]), request_event)
        raise GatewayError(
            "AUTHORIZER_CONFIGURATION_ERROR",
            f"authorizer {authorizer.name} has type {authorizer.type}, which the sandbox gateway does not run "
            "(it runs Lambda TOKEN and REQUEST authorizers)",
        )

    def authorize(self, authorizer: Any, api: Any, identity: Identity, method_arn: str) -> Decision:
        """The decision for this identity (from the cache while fresh); raises 401 for "Unauthorized", 403 when
        the policy does not allow the method, 500 for a failing authorizer."""
        with self._lock:
            # An authorizer whose caching was switched off (TTL 0) is called every time, whatever it cached before.
            cached = self._cache.get(identity.cache_key) if authorizer.authorizer_result_ttl else None
        if cached is not None and cached.expires > time.monotonic():
            decision = cached
        else:
            decision = self._call(authorizer, api, identity)
            if authorizer.authorizer_result_ttl:
                with self._lock:
                    self._cache[identity.cache_key] = decision
        allowed = policy_allows(decision.policy, method_arn)
        if not allowed:
            message = None if allowed is False else "User is not authorized to access this resource"
            raise GatewayError("ACCESS_DENIED", f"the policy of {decision.principal_id} denies {method_arn}", message)
        return decision

    def _call(self, authorizer: Any, api: Any, identity: Identity) -> Decision:
        arn = function_arn(authorizer.authorizer_uri)
        try:
            result = self._invoke(api.account_id, api.region_name, arn, json.dumps(identity.event))
        except Exception as error:  # e.g. the function was deleted: API Gateway cannot call it at all
            raise GatewayError(
                "AUTHORIZER_CONFIGURATION_ERROR", f"could not invoke the authorizer {arn}: {describe_error(error)}"
            ) from error
        if result.errored:
            if (result.error or {}).get("errorMessage") == "Unauthorized":
                raise GatewayError("UNAUTHORIZED", "the authorizer answered Unauthorized")
            raise GatewayError("AUTHORIZER_FAILURE", f"the authorizer failed: {result.error}")
        try:
            answer = json.loads(result.payload)
            principal = answer["principalId"]
            policy = answer["policyDocument"]
            context = answer.get("context") or {}
            if not isinstance(policy, dict) or not isinstance(context, dict):
                raise TypeError("policyDocument and context must be objects")
            if any(isinstance(v, (dict, list)) for v in context.values()):
                raise TypeError("context values must be strings, numbers or booleans")
        except (ValueError, KeyError, TypeError) as error:
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", f"invalid authorizer response: {error}") from error
        return Decision(str(principal), policy, context, time.monotonic() + int(authorizer.authorizer_result_ttl or 0))
