"""What Lambda's ``Invoke`` refuses, and functions the sandbox cannot run, as the JSON errors of moto's Lambda API
(``moto.awslambda.exceptions`` style), so that SDKs raise them with their code instead of meeting an HTML 500.

Lambda answers ``InvalidRuntimeException`` with HTTP 502, which SDKs retry for seconds; here nothing a retry could
change is refused, so it is answered with 400.
"""

from __future__ import annotations

from moto.awslambda.exceptions import LambdaClientError

__all__ = [
    "ASYNC_PAYLOAD_LIMIT",
    "SYNC_PAYLOAD_LIMIT",
    "InvalidRequestContent",
    "LayerUnavailable",
    "RequestTooLarge",
    "UnsupportedRuntime",
]

#: Lambda's largest request payload for a synchronous invocation (6 MB) and an asynchronous one (1 MB).
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024


class InvalidRequestContent(LambdaClientError):
    """The payload is not JSON."""

    code = 400

    def __init__(self, detail: str) -> None:
        message = f"Could not parse request body into json: Could not parse payload into json: {detail}"
        super().__init__("InvalidRequestContentException", message)


class RequestTooLarge(LambdaClientError):
    """The payload is over the invocation type's limit."""

    code = 413

    def __init__(self, limit: int) -> None:
        message = f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
        super().__init__("RequestEntityTooLargeException", message)


class UnsupportedRuntime(LambdaClientError):
    """The function's runtime is not one the sandbox runs (it runs Python zip packages)."""

    code = 400

    def __init__(self, function_name: str, runtime: str) -> None:
        message = (
            f"The runtime parameter of {runtime} (function {function_name}) is not supported by the sandbox, "
            "which runs Python (python3.x) functions packaged as zip files only"
        )
        super().__init__("InvalidRuntimeException", message)


class LayerUnavailable(LambdaClientError):
    """A layer the sandbox cannot provide: neither published in its accounts nor Powertools."""

    code = 400

    def __init__(self, function_name: str, arns: list[str]) -> None:
        message = (
            f"Function {function_name} uses layers the sandbox cannot provide: {', '.join(arns)}. It provides the "
            "layers published in its own accounts (PublishLayerVersion, AWS::Lambda::LayerVersion) and "
            "AWS Lambda Powertools for Python"
        )
        super().__init__("InvalidParameterValueException", message)
