"""Lambda functions in moto, run by the sandbox's runtime: ``Invoke`` (synchronous, ``Event`` and ``DryRun``)
and every trigger moto fires itself go through :meth:`Engine.run` instead of Docker, and what moto's
CloudFormation drops from a function (its log group, layers, dead-letter queue) is kept."""

from __future__ import annotations

import base64
import json
from typing import Any

from moto.awslambda import models as lambda_models

from awspatterns.sandbox.errors import SandboxUnsupported
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.runtime.environment import FunctionSpec
from awspatterns.sandbox.runtime.runtime import LOG_TAIL_BYTES
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "async_settings", "function_spec", "install"]

PATCHED: Patched = (
    (lambda_models.LambdaFunction, "invoke"),
    (lambda_models.LambdaFunction, "_invoke_lambda"),
    (lambda_models.LambdaFunction, "create_from_cloudformation_json"),
    (lambda_models.LambdaBackend, "create_function"),
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


def _api_invoke(engine: Engine, fn: Any, body: str, request_headers: Any, response_headers: dict[str, str]) -> bytes:
    invocation_type = request_headers.get("X-Amz-Invocation-Type") or request_headers.get(
        "x-amz-invocation-type", "RequestResponse"
    )
    event = body or "{}"
    if isinstance(event, (dict, list)):
        event = json.dumps(event)
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


def _keep_configuration() -> None:
    """Keep what moto's CloudFormation drops from a function: its log group, layers and dead-letter queue."""
    original_cfn = lambda_models.LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_api = lambda_models.LambdaBackend.create_function

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
        _remember_config(fn, cloudformation_json["Properties"])
        return fn

    def create_function(backend: Any, spec: dict[str, Any]) -> Any:
        fn = original_api(backend, spec)
        _remember_config(fn, spec)
        return fn

    replace(lambda_models.LambdaFunction, "create_from_cloudformation_json", classmethod(from_cloudformation))
    replace(lambda_models.LambdaBackend, "create_function", create_function)


def _remember_config(fn: Any, properties: dict[str, Any]) -> None:
    log_group = (properties.get("LoggingConfig") or {}).get("LogGroup")
    if log_group:
        fn.logs_group_name = log_group
    fn._sandbox_layers = [
        layer if isinstance(layer, str) else layer.get("Arn", "") for layer in properties.get("Layers") or []
    ]
    fn._sandbox_dead_letter_arn = (properties.get("DeadLetterConfig") or {}).get("TargetArn")


def async_settings(fn: Any) -> tuple[dict[str, Any], str | None]:
    """A function's asynchronous-invocation config (retries, event age, destinations) and its DLQ ARN."""
    config = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
    return config, getattr(fn, "_sandbox_dead_letter_arn", None)


def function_spec(fn: Any) -> FunctionSpec:
    """What the runtime needs of a moto function."""
    layers = getattr(fn, "_sandbox_layers", [])
    unknown = [arn for arn in layers if ":layer:AWSLambdaPowertoolsPython" not in arn]
    if unknown:
        raise SandboxUnsupported(f"function {fn.function_name} uses layers the sandbox cannot provide: {unknown}")
    return FunctionSpec(
        account_id=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        arn=fn.function_arn,
        handler=fn.handler,
        runtime=fn.run_time or "python3.11",
        timeout_s=float(fn.timeout),
        memory_mb=int(fn.memory_size),
        environment=tuple(sorted((k, str(v)) for k, v in fn.environment_vars.items())),
        code_sha256=fn.code_sha_256,
        log_group=fn.logs_group_name,
    )
