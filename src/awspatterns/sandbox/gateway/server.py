"""The request pipeline (route, authorize, validate, integrate, gateway responses) and its HTTP server."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from awspatterns.sandbox.gateway.authorizers import Authorizers
from awspatterns.sandbox.gateway.integrations import Call, Integrations
from awspatterns.sandbox.gateway.messages import (
    DEFAULT_RESPONSES,
    MAX_REQUEST_BYTES,
    GatewayError,
    GatewayReply,
    GatewayRequest,
    describe_error,
)
from awspatterns.sandbox.gateway.routing import Route, all_apis, route
from awspatterns.sandbox.gateway.throttling import Throttles
from awspatterns.sandbox.gateway.validation import check_body
from awspatterns.sandbox.gateway.vtl import MappingError, render
from awspatterns.sandbox.listeners import refuse_foreign_host

__all__ = ["LocalGateway", "serve_gateway"]

log = logging.getLogger("awspatterns.sandbox.gateway")


class LocalGateway:
    """Serves the REST APIs in the sandbox's moto backend."""

    def __init__(self, invoke: Callable[[str, str, str, str], Any], aws_endpoint: str) -> None:
        self.authorizers = Authorizers(invoke)
        self.integrations = Integrations(invoke, aws_endpoint)
        self.throttles = Throttles()

    def handle(self, api_id: str, stage: str, request: GatewayRequest) -> GatewayReply:
        """Serve one request to ``/<api_id>/<stage><request.path>``."""
        request_id = str(uuid.uuid4())
        started = time.time()
        matched: Route | None = None
        context: dict[str, Any] = {}
        integrating = False
        try:
            if len(request.body) > MAX_REQUEST_BYTES:
                raise GatewayError("REQUEST_TOO_LARGE", f"{len(request.body)} bytes")
            matched = route(api_id, stage, request.method, request.path)
            context = _request_context(matched, request, request_id, started)
            http_method = getattr(matched.method, "http_method", None) or request.method  # ANY for an ANY method
            self.throttles.admit(matched.api, matched.stage, matched.resource_path, http_method)
            method_arn = (
                f"arn:aws:execute-api:{matched.api.region_name}:{matched.api.account_id}:{api_id}/{stage}/"
                f"{request.method}{request.path}"
            )
            if matched.method.api_key_required:
                raise GatewayError("API_CONFIGURATION_ERROR", "API keys are not enforced by the sandbox gateway")
            self._authorize(matched, request, method_arn, context)
            params = _parameters(matched, request)
            _validate(matched, request, params)
            integrating = True
            reply = self.integrations.run(Call(request, matched, context, params))
        except GatewayError as error:
            level = logging.WARNING if DEFAULT_RESPONSES[error.response_type][0] >= 500 else logging.INFO
            log.log(
                level, "%s %s %s -> %s: %s", api_id, request.method, request.path, error.response_type, error.detail
            )
            reply = _gateway_response(error, matched, context)
        except Exception as error:
            # A fault nobody foresaw still gets API Gateway's answer (502 from the integration, else 500) rather than
            # a dropped connection; the log keeps the traceback.
            log.exception("%s %s %s failed", api_id, request.method, request.path)
            response_type = "INTEGRATION_FAILURE" if integrating else "API_CONFIGURATION_ERROR"
            reply = _gateway_response(GatewayError(response_type, describe_error(error)), matched, context)
        reply.headers["x-amzn-RequestId"] = request_id
        return reply

    def _authorize(self, matched: Route, request: GatewayRequest, method_arn: str, context: dict[str, Any]) -> None:
        method = matched.method
        if method.authorization_type in (None, "NONE"):
            return
        if method.authorization_type != "CUSTOM":
            raise GatewayError(
                "AUTHORIZER_CONFIGURATION_ERROR",
                f"authorization type {method.authorization_type} is not enforced by the sandbox gateway",
            )
        authorizer = matched.api.authorizers.get(method.authorizer_id)
        if authorizer is None:
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", f"no authorizer {method.authorizer_id}")
        identity = self.authorizers.identity(authorizer, request, matched, method_arn, dict(context))
        began = time.monotonic()
        decision = self.authorizers.authorize(authorizer, matched.api, identity, method_arn)
        context["authorizer"] = {
            # REST APIs hand the authorizer's context on as strings (true -> "true", 3 -> "3").
            **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in decision.context.items()},
            "principalId": decision.principal_id,
            "integrationLatency": int((time.monotonic() - began) * 1000),
        }


def _request_context(matched: Route, request: GatewayRequest, request_id: str, started: float) -> dict[str, Any]:
    api = matched.api
    return {
        "accountId": api.account_id,
        "apiId": api.id,
        "resourceId": matched.resource.id,
        "resourcePath": matched.resource_path,
        "httpMethod": request.method,
        "path": f"/{matched.stage.name}{request.path}",
        "stage": matched.stage.name,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "protocol": "HTTP/1.1",
        "requestTime": datetime.fromtimestamp(started, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(started * 1000),
        "domainName": request.header("Host") or "localhost",
        "identity": {"sourceIp": request.source_ip, "userAgent": request.header("User-Agent")},
    }


def _parameters(matched: Route, request: GatewayRequest) -> dict[str, dict[str, str]]:
    return {
        "path": dict(matched.path_parameters),
        "querystring": {k: v[-1] for k, v in request.query.items()},
        "header": {k: v[-1] for k, v in request.headers.items()},
    }


def _validate(matched: Route, request: GatewayRequest, params: dict[str, dict[str, str]]) -> None:
    """The method's request validator: required parameters, and the body against the method's model."""
    method, api = matched.method, matched.api
    validator = api.request_validators.get(method.request_validator_id) if method.request_validator_id else None
    if validator is None:
        return
    if validator.validate_request_parameters:
        missing = []
        for name, required in (method.request_parameters or {}).items():
            where, _, key = name.removeprefix("method.request.").partition(".")
            present = params.get(where, {})
            found = key.lower() in {k.lower() for k in present} if where == "header" else key in present
            if required and not found:
                missing.append(key)
        if missing:
            message = f"Missing required request parameters: [{', '.join(missing)}]"
            raise GatewayError("BAD_REQUEST_PARAMETERS", message, message)
    if validator.validate_request_body:
        models = method.request_models or {}
        content_type = (request.header("Content-Type") or "application/json").split(";")[0].strip()
        model_name = models.get(content_type) or models.get("$default")
        if not model_name or model_name == "Empty":
            return
        model = api.models.get(model_name)
        if model is None:
            raise GatewayError("API_CONFIGURATION_ERROR", f"no model {model_name}")
        check_body(request.body, json.loads(model.schema), model_name)


def _gateway_response(error: GatewayError, matched: Route | None, context: dict[str, Any]) -> GatewayReply:
    """The gateway's own answer, with the API's customised gateway response for the type when it has one."""
    status, key, _ = DEFAULT_RESPONSES[error.response_type]
    custom = None
    if matched is not None:
        responses = matched.api.gateway_responses
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        custom = responses.get(error.response_type) or responses.get(family)
    if custom is None:
        return GatewayReply.json(status, {key: error.message}, {"x-amzn-ErrorType": error.response_type})
    reply = GatewayReply(int(custom.status_code or status), headers={"Content-Type": "application/json"})
    error_context = {
        **context,
        "error": {
            "message": error.message,
            "messageString": json.dumps(error.message),
            "responseType": error.response_type,
            # Escaped for a JSON string, as API Gateway gives it: a template puts it between quotes.
            "validationErrorString": json.dumps(error.validation_error_string)[1:-1],
        },
    }
    template = (custom.response_templates or {}).get("application/json")
    if template:
        try:
            reply.body = render(template, "", {"path": {}, "querystring": {}, "header": {}}, error_context, {}).encode()
        except MappingError:
            reply.body = json.dumps({key: error.message}).encode()
    else:
        reply.body = json.dumps({key: error.message}).encode()
    for target, source in (custom.response_parameters or {}).items():
        if source.startswith("'") and source.endswith("'"):
            reply.headers[target.removeprefix("gatewayresponse.header.")] = source[1:-1]
    return reply


class _GatewayServer(ThreadingHTTPServer):
    #: The listen backlog. socketserver's default of 5 drops the handshakes of a burst of clients connecting at once,
    #: and each dropped one waits a second for TCP to retransmit it: a false one-second tail in every load test.
    request_queue_size = 128


def serve_gateway(gateway: LocalGateway) -> ThreadingHTTPServer:
    """Serve ``http://localhost:<port>/<api-id>/<stage>/<path>``; ``GET /`` lists the deployed APIs."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            if refuse_foreign_host(self):
                return
            try:
                reply = self._reply()
            except Exception:
                # The last resort: whatever failed, the client gets an answer, and the log says why.
                log.exception("gateway request %s %s failed", self.command, self.path)
                reply = GatewayReply.json(500, {"message": "Internal server error"})
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        def _reply(self) -> GatewayReply:
            url = urlparse(self.path)
            parts = url.path.split("/", 3)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(parts) < 3 or not parts[1] or not parts[2]:
                return self._index()
            headers: dict[str, list[str]] = {}
            for key, value in self.headers.items():
                headers.setdefault(key, []).append(value)
            request = GatewayRequest(
                method=self.command,
                path="/" + unquote(parts[3] if len(parts) > 3 else ""),
                query=parse_qs(url.query, keep_blank_values=True),
                headers=headers,
                body=body,
                source_ip=self.client_address[0],
            )
            return gateway.handle(parts[1], parts[2], request)

        def _index(self) -> GatewayReply:
            host = self.headers.get("Host", "localhost")
            return GatewayReply.json(
                200,
                {
                    "apis": [
                        {"id": api.id, "name": api.name, "account": api.account_id, "stages": sorted(api.stages)}
                        for api in all_apis()
                    ],
                    "url_format": f"http://{host}/<api-id>/<stage>/<path>",
                },
            )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    server = _GatewayServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sandbox-gateway", daemon=True).start()
    return server
