"""``patterns bench api-authorizer``: what the JWT authorizer adds to a request through API Gateway, with its result
cache on (the same token again, or a new token each time) and off, beside the same route without an authorizer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from awspatterns.bench.harness import (
    Benchmark,
    BenchOptions,
    Deployment,
    deployed,
    rest_api_id,
    run_load,
    timed_request,
)
from awspatterns.bench.results import Scenario, write_results

__all__ = ["BENCHMARK", "bench_api_authorizer"]

SLUG = "api-authorizer"
BASELINE_PATH = "baseline"
#: The scenarios take turns in this many rounds.
ROUNDS = 10


def _get(url: str, authorization: str | None) -> tuple[str, float | None, bool]:
    """One GET, with the ``Authorization`` header when given; the status and the client-observed latency."""
    return timed_request(url, headers={"Authorization": authorization} if authorization else None)


def _add_baseline_route(deployment: Deployment, api_id: str) -> None:
    """``GET /baseline``: the items function behind a Lambda proxy integration without any authorizer."""
    session, outputs = deployment.session, deployment.outputs
    apigateway, lambda_ = session.client("apigateway"), session.client("lambda")
    function_arn = lambda_.get_function(FunctionName=outputs["ItemsFunctionName"])["Configuration"]["FunctionArn"]
    region = function_arn.split(":")[3]
    root = next(r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart=BASELINE_PATH)["id"]
    apigateway.put_method(restApiId=api_id, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    lambda_.add_permission(
        FunctionName=function_arn,
        StatementId="bench-baseline",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{region}:{function_arn.split(':')[4]}:{api_id}/*/GET/{BASELINE_PATH}",
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")


def _set_result_cache(deployment: Deployment, api_id: str, ttl_s: int) -> None:
    """Set the authorizer's result cache TTL and deploy the stage again (as AWS needs for it to take effect)."""
    apigateway = deployment.session.client("apigateway")
    [authorizer] = apigateway.get_authorizers(restApiId=api_id)["items"]
    apigateway.update_authorizer(
        restApiId=api_id,
        authorizerId=authorizer["id"],
        patchOperations=[{"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": str(ttl_s)}],
    )
    apigateway.create_deployment(restApiId=api_id, stageName="prod")


def _minter(deployment: Deployment) -> Callable[[str], str]:
    """``mint(sub)``: a ``Bearer`` header with a read token, valid for an hour, from the demo issuer's key (loaded
    once: parsing the PEM for every token would cost more than signing it)."""
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    outputs = deployment.outputs
    secret = deployment.session.client("secretsmanager").get_secret_value(SecretId=outputs["SigningKeySecretArn"])
    key = json.loads(secret["SecretString"])
    private_key = load_pem_private_key(key["privateKeyPem"].encode(), password=None)

    def mint(sub: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": outputs["Issuer"], "aud": outputs["Audience"], "sub": sub}
        claims |= {"scope": "items:read", "iat": now, "nbf": now, "exp": now + 3600}
        token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": key["kid"]})  # type: ignore[arg-type]
        return f"Bearer {token}"

    return mint


def bench_api_authorizer(options: BenchOptions) -> Path:
    """Deploy the pattern, then time ``GET /items`` with the result cache on (same token; new token each
    request) and off, and ``GET /baseline`` (the same function without an authorizer); write the results.

    The scenarios take turns in ``ROUNDS`` rounds (the cache switched on and off between them), so a change in the
    machine's load during the run weighs on all of them alike rather than on whichever ran at the time."""
    say, requests = options.progress, options.requests
    with deployed(SLUG, options) as deployment:
        apigateway = deployment.session.client("apigateway")
        api_id = rest_api_id(apigateway, deployment.outputs["ApiUrl"])
        _add_baseline_route(deployment, api_id)
        items, baseline = deployment.outputs["ItemsUrl"], deployment.outputs["ApiUrl"] + BASELINE_PATH
        mint = _minter(deployment)
        same, uncached = mint("bench-same"), mint("bench-cache-off")
        new_tokens = iter([mint(f"bench-{i}") for i in range(requests)])
        for url, token in ((baseline, None), (items, same)):
            _get(url, token)  # cold starts of the function and the authorizer, not counted
        runs: list[tuple[Scenario, int, Callable[[], tuple[str, float | None, bool]]]] = [
            (
                Scenario("no-authorizer", "Same function, route without authorizer (baseline)"),
                300,
                lambda: _get(baseline, None),
            ),
            (
                Scenario("cache-on-same-token", "Result cache on (300 s), the same token"),
                300,
                lambda: _get(items, same),
            ),
            (
                Scenario("cache-on-new-token", "Result cache on, a new token each request"),
                300,
                lambda: _get(items, next(new_tokens)),
            ),
            (Scenario("cache-off", "Result cache off (TTL 0), the same token"), 0, lambda: _get(items, uncached)),
        ]
        rounds, current_ttl_s = min(ROUNDS, requests), 300
        for round_ in range(rounds):
            chunk = requests // rounds + (1 if round_ < requests % rounds else 0)
            for scenario, ttl_s, call in runs:
                if ttl_s != current_ttl_s:
                    _set_result_cache(deployment, api_id, ttl_s)
                    current_ttl_s = ttl_s
                before = scenario.wall_s
                run_load(call, chunk, 1, scenario)
                scenario.wall_s += before
            say(f"round {round_ + 1}/{rounds}: {sum(s.histogram.count for s, _, _ in runs)} requests done")
    scenarios = [scenario for scenario, _, _ in runs]
    medians = {s.name: s.histogram.percentile(50) for s in scenarios}
    # rounded first, so that a difference within the histogram's resolution reads 0.0, not -0.0
    overhead = {s.name: round(medians[s.name] - medians["no-authorizer"], 1) + 0.0 for s in scenarios[1:]}
    notes = (
        f"Latency is the client-observed time of one `GET` through API Gateway ({options.target}), one request at a "
        f"time, warm, the scenarios taking turns in {rounds} rounds. The authorizer's overhead is a scenario's "
        "latency minus the baseline's (the same items function on a route without authorizer); at the median: "
        f"{overhead['cache-on-same-token']:.1f} ms with the result cache on and the token cached, "
        f"{overhead['cache-on-new-token']:.1f} ms with a new token each request (every request misses the cache), "
        f"{overhead['cache-off']:.1f} ms with the cache off (the authorizer runs for every request, its JWKS cached "
        "in the function)."
    )
    return write_results(SLUG, options.target, scenarios, notes, options.out_dir)


BENCHMARK = Benchmark(
    name=SLUG,
    summary="the JWT authorizer's overhead per request, result cache on and off",
    run=bench_api_authorizer,
)
