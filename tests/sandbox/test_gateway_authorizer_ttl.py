"""A Lambda authorizer's result cache follows its TTL as it is now: switched off (``authorizerResultTtlInSeconds``
0, then a deployment, as in API Gateway), the authorizer is called for every request, even for a token whose
earlier answer was cached."""

from __future__ import annotations

import json
import urllib.request

from lambda_code import create_function

# Allows everything, with a new principal on every call: equal principals mean a cached answer.
AUTHORIZER = """
import uuid

def handler(event, context):
    return {
        "principalId": uuid.uuid4().hex,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
    }
"""


def api_with_authorizer(session, authorizer_arn: str) -> tuple[str, str]:
    """``GET /hello`` (MOCK, answering the principal) behind a TOKEN authorizer cached 300 s.

    Returns the API's and the authorizer's ids."""
    apigateway = session.client("apigateway")
    api = apigateway.create_rest_api(name="cached")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    hello = apigateway.create_resource(restApiId=api, parentId=root, pathPart="hello")["id"]
    region = authorizer_arn.split(":")[3]
    authorizer = apigateway.create_authorizer(
        restApiId=api,
        name="tokens",
        type="TOKEN",
        identitySource="method.request.header.Authorization",
        authorizerUri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{authorizer_arn}/invocations",
        authorizerResultTtlInSeconds=300,
    )["id"]
    session.client("lambda").add_permission(
        FunctionName=authorizer_arn,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    apigateway.put_method(
        restApiId=api, resourceId=hello, httpMethod="GET", authorizationType="CUSTOM", authorizerId=authorizer
    )
    apigateway.put_integration(
        restApiId=api,
        resourceId=hello,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.put_method_response(restApiId=api, resourceId=hello, httpMethod="GET", statusCode="200")
    apigateway.put_integration_response(
        restApiId=api,
        resourceId=hello,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"principal": "$context.authorizer.principalId"}'},
    )
    apigateway.create_deployment(restApiId=api, stageName="v1")
    return api, authorizer


def test_switching_the_cache_off_calls_the_authorizer_for_every_request(sandbox, account):
    api, authorizer = api_with_authorizer(account, create_function(account, "allow-all", AUTHORIZER))

    def principal() -> str:
        url = f"{sandbox.api_endpoint}/{api}/v1/hello"
        request = urllib.request.Request(url, headers={"Authorization": "t-1"})  # noqa: S310 (the local gateway)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the local gateway)
            return str(json.loads(response.read())["principal"])

    cached = principal()
    assert principal() == cached  # the answer for this token is cached
    apigateway = account.client("apigateway")
    apigateway.update_authorizer(
        restApiId=api,
        authorizerId=authorizer,
        patchOperations=[{"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"}],
    )
    apigateway.create_deployment(restApiId=api, stageName="v1")
    first, second = principal(), principal()
    assert len({cached, first, second}) == 3  # called each time, the old cached answer ignored
