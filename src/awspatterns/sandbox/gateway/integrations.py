"""Integrations: Lambda proxy (``AWS_PROXY``), AWS service (``AWS``, with mapping templates) and ``MOCK``."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from awspatterns.sandbox.gateway.authorizers import function_arn
from awspatterns.sandbox.gateway.credentials import IntegrationCredentials
from awspatterns.sandbox.gateway.messages import GatewayError, GatewayReply, GatewayRequest, describe_error
from awspatterns.sandbox.gateway.vtl import MappingError, render

__all__ = ["SERVICE_URI", "Call", "Integrations"]

#: ``arn:aws:apigateway:<region>:<service>:path/<path>`` or ``...:action/<Action>``
SERVICE_URI = re.compile(
    r"^arn:aws[\w-]*:apigateway:(?P<region>[\w-]+):(?P<service>[\w.-]+):(?P<style>path|action)/(?P<rest>.*)$"
)


@dataclass
class Call:
    """Everything an integration needs about the request being served."""

    request: GatewayRequest
    route: Any
    context: dict[str, Any]
    params: dict[str, dict[str, str]]

    def render(self, template: str, body: str, response: bool = False) -> str:
        """Render a mapping template for this request (``$input`` is ``body``). A request template that cannot
        read the body is the client's error (400); a response template that fails is the API's (500)."""
        try:
            return render(template, body, self.params, self.context, self.route.stage.variables or {})
        except MappingError as error:
            if response:
                raise GatewayError("API_CONFIGURATION_ERROR", f"response template: {error}") from error
            raise GatewayError("BAD_REQUEST_BODY", str(error), str(error)) from error


class Integrations:
    """Runs a method's integration and maps its result to the method's response."""

    def __init__(self, invoke: Callable[[str, str, str, str], Any], aws_endpoint: str) -> None:
        self._invoke = invoke
        self._aws_endpoint = aws_endpoint.rstrip("/")
        self._credentials = IntegrationCredentials()

    def run(self, call: Call) -> GatewayReply:
        """Dispatch on the integration type."""
        integration = call.route.method.method_integration
        if integration is None:
            raise GatewayError("API_CONFIGURATION_ERROR", "the method has no integration")
        if integration.integration_type == "AWS_PROXY":
            return self._lambda_proxy(call, integration)
        if integration.integration_type == "AWS":
            return self._aws_service(call, integration)
        if integration.integration_type == "MOCK":
            return self._mock(call, integration)
        raise GatewayError(
            "API_CONFIGURATION_ERROR",
            f"integration type {integration.integration_type} is not run by the sandbox gateway "
            "(it runs AWS_PROXY, AWS and MOCK)",
        )

    # ------------------------------------------------------------------ Lambda proxy
    def _lambda_proxy(self, call: Call, integration: Any) -> GatewayReply:
        request, route = call.request, call.route
        body = request.body
        binary = bool(body) and not _is_text(body)
        event = {
            "resource": route.resource_path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": {k: v[-1] for k, v in request.headers.items()} or None,
            "multiValueHeaders": request.headers or None,
            "queryStringParameters": {k: v[-1] for k, v in request.query.items()} or None,
            "multiValueQueryStringParameters": request.query or None,
            "pathParameters": route.path_parameters or None,
            "stageVariables": route.stage.variables or None,
            "requestContext": call.context,
            "body": (base64.b64encode(body).decode() if binary else body.decode()) if body else None,
            "isBase64Encoded": binary,
        }
        api = route.api
        arn = function_arn(integration.uri)
        try:
            result = self._invoke(api.account_id, api.region_name, arn, json.dumps(event))
        except Exception as error:  # e.g. the function was deleted: API Gateway answers 500, not 502
            raise GatewayError(
                "API_CONFIGURATION_ERROR",
                f"Execution failed due to configuration error: could not invoke {arn}: {describe_error(error)}",
            ) from error
        if result.errored:
            if (result.error or {}).get("errorType") == "Sandbox.Timedout":
                raise GatewayError("INTEGRATION_TIMEOUT", "the function timed out")
            raise GatewayError("INTEGRATION_FAILURE", f"the function failed: {result.error}")
        try:
            answer = json.loads(result.payload)
            if not isinstance(answer, dict):
                raise TypeError("the response must be a JSON object")
            status = int(answer.get("statusCode", 200))
            headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
            for key, values in (answer.get("multiValueHeaders") or {}).items():
                headers[str(key)] = ", ".join(str(v) for v in values)
            payload = answer.get("body")
            if payload is not None and not isinstance(payload, str):
                raise TypeError("body must be a string")
            data = (payload or "").encode()
            if answer.get("isBase64Encoded"):
                data = base64.b64decode(data)
        except (ValueError, TypeError) as error:
            raise GatewayError("INTEGRATION_FAILURE", f"malformed Lambda proxy response: {error}") from error
        headers.setdefault("Content-Type", "application/json")
        return GatewayReply(status, data, headers)

    # ------------------------------------------------------------------ AWS service
    def _aws_service(self, call: Call, integration: Any) -> GatewayReply:
        match = SERVICE_URI.match(integration.uri or "")
        if match is None:
            raise GatewayError("API_CONFIGURATION_ERROR", f"not an AWS service integration URI: {integration.uri!r}")
        body = self._request_body(call, integration)
        headers = {"Content-Type": "application/json"}
        query: dict[str, str] = {}
        path = match["rest"] if match["style"] == "path" else ""
        if match["style"] == "action":
            query["Action"] = match["rest"]
        for target, source in (integration.request_parameters or {}).items():
            value = _parameter_value(source, call)
            where, _, name = target.removeprefix("integration.request.").partition(".")
            if where == "header":
                headers[name] = value
            elif where == "querystring":
                query[name] = value
            elif where == "path":
                path = path.replace("{" + name + "}", value)
        url = f"{self._aws_endpoint}/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        api = call.route.api
        credentials = self._credentials.for_integration(integration, api)
        request = AWSRequest(method=integration.http_method or "POST", url=url, data=body.encode(), headers=headers)
        SigV4Auth(credentials, match["service"], match["region"]).add_auth(request)
        prepared = urllib.request.Request(url, data=body.encode(), method=request.method)  # noqa: S310
        for key, value in request.headers.items():
            prepared.add_header(key, value)
        prepared.add_header("x-moto-account-id", api.account_id)
        try:
            with urllib.request.urlopen(prepared, timeout=29) as response:  # noqa: S310 (the local sandbox)
                status, data, response_headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, data, response_headers = error.code, error.read(), dict(error.headers)
        return self._map_response(call, integration, str(status), data.decode(errors="replace"), response_headers)

    def _request_body(self, call: Call, integration: Any) -> str:
        templates = integration.request_templates or {}
        content_type = (call.request.header("Content-Type") or "application/json").split(";")[0].strip()
        template = templates.get(content_type)
        if template is None:
            behaviour = integration.passthrough_behaviour or "WHEN_NO_MATCH"
            if behaviour == "NEVER" or (behaviour == "WHEN_NO_TEMPLATES" and templates):
                raise GatewayError("UNSUPPORTED_MEDIA_TYPE", f"no request template for {content_type}")
            return call.request.text
        return call.render(template, call.request.text)

    def _map_response(
        self, call: Call, integration: Any, status: str, body: str, headers: dict[str, str]
    ) -> GatewayReply:
        """Pick the integration response whose selection pattern matches (else the default one), then apply its
        template and header mappings."""
        responses = integration.integration_responses or {}
        chosen = next(
            (r for r in responses.values() if r.selection_pattern and re.fullmatch(r.selection_pattern, status)),
            None,
        ) or next((r for r in responses.values() if not r.selection_pattern), None)
        if chosen is None:
            raise GatewayError(
                "API_CONFIGURATION_ERROR", f"no integration response matches status {status} and none is the default"
            )
        templates = chosen.response_templates or {}
        template = templates.get("application/json") or next((t for t in templates.values() if t), None)
        data = call.render(template, body, response=True) if template else body
        reply = GatewayReply(int(chosen.status_code), data.encode(), {"Content-Type": "application/json"})
        for target, source in (chosen.response_parameters or {}).items():
            name = target.removeprefix("method.response.header.")
            if source.startswith("integration.response.header."):
                value = headers.get(source.removeprefix("integration.response.header."), "")
            else:
                value = _parameter_value(source, call)
            reply.headers[name] = value
        return reply

    # ------------------------------------------------------------------ MOCK
    def _mock(self, call: Call, integration: Any) -> GatewayReply:
        templates = integration.request_templates or {}
        template = templates.get("application/json")
        status = "200"
        if template:
            rendered = call.render(template, call.request.text)
            try:
                status = str(json.loads(rendered).get("statusCode", 200))
            except (ValueError, AttributeError) as error:
                raise GatewayError(
                    "API_CONFIGURATION_ERROR", f"MOCK request template must give JSON: {error}"
                ) from error
        return self._map_response(call, integration, status, "", {})


def _parameter_value(source: str, call: Call) -> str:
    """A mapping's source: a quoted static value, a request parameter, a context or stage variable."""
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return source[1:-1]
    for where, values in (
        ("method.request.header.", {k.lower(): v for k, v in call.params["header"].items()}),
        ("method.request.querystring.", call.params["querystring"]),
        ("method.request.path.", call.params["path"]),
        ("stageVariables.", call.route.stage.variables or {}),
    ):
        if source.startswith(where):
            name = source.removeprefix(where)
            return str(values.get(name.lower() if where.endswith("header.") else name, ""))
    if source.startswith("context."):
        value: Any = call.context
        for part in source.removeprefix("context.").split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return str(value)
    raise GatewayError("API_CONFIGURATION_ERROR", f"unsupported parameter mapping source {source!r}")


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
