"""Functions reach the local API Gateway: every execution environment gets ``AWSPATTERNS_EXECUTE_API_ENDPOINT``, the
gateway's URL, under which ``https://<api>.execute-api.<region>.amazonaws.com/<stage>/<path>`` is served as
``<endpoint>/<api>/<stage>/<path>`` (what ``SandboxInfo.local_url`` does for clients)."""

from __future__ import annotations

import json

from lambda_code import create_function

FETCHER = """
import os, re, urllib.request

def handler(event, context):
    endpoint = os.environ["AWSPATTERNS_EXECUTE_API_ENDPOINT"]
    pattern = r"^https://([a-z0-9]+)\\.execute-api\\.[a-z0-9-]+\\.amazonaws\\.com/"
    url = re.sub(pattern, endpoint + r"/\\1/", event["url"])
    with urllib.request.urlopen(url, timeout=10) as response:
        return {"endpoint": endpoint, "status": response.status, "body": response.read().decode()}
"""


def mock_api(session) -> str:
    """A REST API with ``GET /hello`` answered by a MOCK integration, deployed to stage ``v1``; returns its id."""
    apigateway = session.client("apigateway")
    api = apigateway.create_rest_api(name="hello")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    hello = apigateway.create_resource(restApiId=api, parentId=root, pathPart="hello")["id"]
    apigateway.put_method(restApiId=api, resourceId=hello, httpMethod="GET", authorizationType="NONE")
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
        responseTemplates={"application/json": '{"greeting": "hello"}'},
    )
    apigateway.create_deployment(restApiId=api, stageName="v1")
    return str(api)


def test_a_function_reaches_an_execute_api_url_through_the_local_gateway(sandbox, account):
    api = mock_api(account)
    create_function(account, "fetcher", FETCHER)
    url = f"https://{api}.execute-api.us-east-1.amazonaws.com/v1/hello"
    answer = account.client("lambda").invoke(FunctionName="fetcher", Payload=json.dumps({"url": url}))
    result = json.loads(answer["Payload"].read())
    assert result["endpoint"] == sandbox.api_endpoint
    assert result["status"] == 200
    assert json.loads(result["body"]) == {"greeting": "hello"}
