"""Lambda functions in moto, run by the sandbox's runtime: ``Invoke`` (synchronous, ``Event`` and ``DryRun``)
and every trigger moto fires itself go through :meth:`Engine.run` instead of Docker, and what moto's
CloudFormation drops from a function (its log group, layers, dead-letter queue) is kept.

``Invoke`` refuses what Lambda refuses (a payload that is not JSON, or over 6 MB, 1 MB for ``Event``) and what the
sandbox cannot run (a runtime other than Python, a container image, a layer it cannot provide), with JSON errors
boto3 raises as ``ClientError`` with their code."""

from __future__ import annotations

import base64
import json
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from moto.awslambda import models as lambda_models
from moto.awslambda.responses import LambdaResponse

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.runtime.api_errors import (
    ASYNC_PAYLOAD_LIMIT,
    SYNC_PAYLOAD_LIMIT,
    InvalidRequestContent,
    LayerUnavailable,
    RequestTooLarge,
    UnsupportedRuntime,
)
from awspatterns.sandbox.runtime.credentials import FunctionCredentials
from awspatterns.sandbox.runtime.environment import FunctionSpec
from awspatterns.sandbox.runtime.layers import layer_paths, provided_layer_names, unavailable_layers
from awspatterns.sandbox.runtime.runtime import LOG_TAIL_BYTES
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "async_settings", "check_runnable", "function_spec", "install"]

PATCHED: Patched = (
    (lambda_models.LambdaFunction, "invoke"),
    (lambda_models.LambdaFunction, "_invoke_lambda"),
    (lambda_models.LambdaFunction, "create_from_cloudformation_json"),
    (lambda_models.LambdaBackend, "create_function"),
    (lambda_models.LambdaFunction, "get_configuration"),
    (lambda_models.LambdaBackend, "layers_versions_by_arn"),
    (LambdaResponse, "setup_class"),
)


def install(engine: Engine) -> None:
    """Run every invocation in the sandbox's runtime and keep each function's full configuration."""

    def invoke(fn: Any, body: str, request_headers: Any, response_headers: dict[str, str]) -> bytes:
        return _api_invoke(engine, fn, body, request_headers or {}, response_headers)

    def invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
        result = engine.run(fn, json.dumps({} if event is None else event))
        return result.payload.decode(), result.errored, result.logs

    replace(lambda_models.LambdaFunction, "invoke", invoke)
    replace(lambda_models.LambdaFunction, "_invoke_lambda", invoke_lambda)
    _keep_configuration()
    _keep_invoke_payloads_undecoded()


def _keep_invoke_payloads_undecoded() -> None:
    """moto decodes every request body as UTF-8 and answers an HTML 500 when it cannot; an Invoke payload that is
    not UTF-8 is kept as bytes instead, so that Invoke refuses it as the JSON it is not."""
    original = LambdaResponse.setup_class

    def setup_class(
        self: LambdaResponse,
        request: Any,
        full_url: str | None = None,
        headers: Any = None,
        use_raw_body: bool | None = None,
    ) -> None:
        url = full_url if full_url is not None else request.raw_url
        if use_raw_body is not None or not urlparse(url).path.endswith("/invocations"):
            return original(self, request, full_url, headers, use_raw_body)
        original(self, request, full_url, headers, use_raw_body=True)
        if isinstance(self.body, bytes):
            with suppress(UnicodeDecodeError):
                self.body = self.body.decode("utf-8")
        return None

    replace(LambdaResponse, "setup_class", setup_class)


def _api_invoke(
    engine: Engine, fn: Any, body: str | bytes, request_headers: Any, response_headers: dict[str, str]
) -> bytes:
    invocation_type = request_headers.get("X-Amz-Invocation-Type") or request_headers.get(
        "x-amz-invocation-type", "RequestResponse"
    )
    if isinstance(body, bytes):  # kept undecoded: not UTF-8
        raise InvalidRequestContent("the payload is not UTF-8 text")
    event = body or "{}"
    if isinstance(event, (dict, list)):
        event = json.dumps(event)
    if invocation_type != "DryRun":
        _check_payload(event, ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT)
    check_runnable(fn)
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        engine.submit_async(fn.account_id, fn.region, fn.function_arn, event)
        return b""
    result = engine.run(fn, event)
    if result.errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    tail = result.logs.encode()[-LOG_TAIL_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return result.payload


def _check_payload(event: str, limit: int) -> None:
    """Refuse a payload over ``limit`` bytes, or that is not JSON, as Lambda does."""
    size = len(event) if len(event) * 4 <= limit else len(event.encode())  # a character is at most 4 bytes
    if size > limit:
        raise RequestTooLarge(limit)
    try:
        json.loads(event)
    except ValueError as error:
        raise InvalidRequestContent(str(error)) from error


def _keep_configuration() -> None:
    """Keep what moto's CloudFormation drops from a function: its log group, layers and dead-letter queue; and
    answer with the log group, as Lambda's ``LoggingConfig``, where moto omits it."""
    original_cfn = lambda_models.LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_api = lambda_models.LambdaBackend.create_function
    original_configuration = lambda_models.LambdaFunction.get_configuration

    def from_cloudformation(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        fn = original_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _remember_config(fn, cloudformation_json["Properties"], from_cloudformation=True)
        return fn

    def create_function(backend: Any, spec: dict[str, Any]) -> Any:
        fn = original_api(backend, spec)
        _remember_config(fn, spec, from_cloudformation=False)
        return fn

    def get_configuration(fn: Any, on_create: bool = False) -> dict[str, Any]:
        return {
            **original_configuration(fn, on_create),
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": fn.logs_group_name},
        }

    replace(lambda_models.LambdaFunction, "create_from_cloudformation_json", classmethod(from_cloudformation))
    replace(lambda_models.LambdaFunction, "get_configuration", get_configuration)
    replace(lambda_models.LambdaBackend, "create_function", create_function)


def _remember_config(fn: Any, properties: dict[str, Any], from_cloudformation: bool) -> None:
    log_group = (properties.get("LoggingConfig") or {}).get("LogGroup")
    if log_group:
        fn.logs_group_name = log_group
    if from_cloudformation:  # through the API, moto keeps them in fn.layers (and UpdateFunctionConfiguration too)
        layers = properties.get("Layers") or []
        fn._sandbox_layers = [layer if isinstance(layer, str) else layer.get("Arn", "") for layer in layers]
    fn._sandbox_dead_letter_arn = (properties.get("DeadLetterConfig") or {}).get("TargetArn")


def async_settings(fn: Any) -> tuple[dict[str, Any], str | None]:
    """A function's asynchronous-invocation config (retries, event age, destinations) and its DLQ ARN."""
    config = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
    return config, getattr(fn, "_sandbox_dead_letter_arn", None)


def _layers(fn: Any) -> list[str]:
    return [layer["Arn"] for layer in fn.layers] or list(getattr(fn, "_sandbox_layers", []))


def check_runnable(fn: Any) -> None:
    """Refuse a function the sandbox cannot run.

    Raises:
        UnsupportedRuntime: a runtime other than Python, or a container image.
        LayerUnavailable: a layer neither published in the sandbox nor provided by it.
    """
    if fn.package_type == "Image":
        raise UnsupportedRuntime(fn.function_name, "a container image")
    if not (fn.run_time or "python").startswith("python"):
        raise UnsupportedRuntime(fn.function_name, fn.run_time)
    unavailable = unavailable_layers(_layers(fn))
    if unavailable:
        raise LayerUnavailable(fn.function_name, unavailable)


def function_spec(fn: Any, work_dir: Path, credentials: FunctionCredentials | None = None) -> FunctionSpec:
    """What the runtime needs of a moto function (its layers unpacked under ``work_dir``; its role's credentials
    from ``credentials``), once :func:`check_runnable` accepts it."""
    check_runnable(fn)
    runtime = fn.run_time or "python3.11"
    return FunctionSpec(
        account_id=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        arn=fn.function_arn,
        handler=fn.handler,
        runtime=runtime,
        timeout_s=float(fn.timeout),
        memory_mb=int(fn.memory_size),
        environment=tuple(sorted((k, str(v)) for k, v in fn.environment_vars.items())),
        code_sha256=fn.code_sha_256,
        log_group=fn.logs_group_name,
        layer_paths=layer_paths(_layers(fn), runtime, work_dir / "layers"),
        provided_layers=provided_layer_names(_layers(fn)),
        credentials=credentials.environment(fn.role, fn.function_name, fn.region) if credentials and fn.role else (),
    )
