"""Requests, replies and the gateway's own error responses (API Gateway's "gateway responses")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_RESPONSES",
    "MAX_REQUEST_BYTES",
    "GatewayError",
    "GatewayReply",
    "GatewayRequest",
    "describe_error",
]

#: API Gateway's default gateway responses: type -> (status, message key, message).
DEFAULT_RESPONSES: dict[str, tuple[int, str, str | None]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "message", "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "message", "Unauthorized"),
    "ACCESS_DENIED": (403, "Message", "User is not authorized to access this resource with an explicit deny"),
    "AUTHORIZER_FAILURE": (500, "message", None),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "message", None),
    "BAD_REQUEST_BODY": (400, "message", "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "message", "Missing required request parameters"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "message", "Unsupported Media Type"),
    "REQUEST_TOO_LARGE": (413, "message", "Request Too Long"),
    "INTEGRATION_FAILURE": (502, "message", "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "message", "Endpoint request timed out"),
    "API_CONFIGURATION_ERROR": (500, "message", "Internal server error"),
    "THROTTLED": (429, "message", "Too Many Requests"),
}

#: API Gateway's limit on a request payload.
MAX_REQUEST_BYTES = 10 * 1024 * 1024


@dataclass
class GatewayRequest:
    """An HTTP request to a stage of an API."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, list[str]]
    body: bytes
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The last value of a header, by case-insensitive name."""
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[-1]
        return None

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", errors="replace")


@dataclass
class GatewayReply:
    """An HTTP response to send back."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, document: Any, headers: dict[str, str] | None = None) -> GatewayReply:
        """A JSON reply."""
        return cls(status, json.dumps(document).encode(), {"Content-Type": "application/json", **(headers or {})})


class GatewayError(Exception):
    """The gateway itself answers: ``response_type`` names the gateway response, ``detail`` is logged and
    becomes ``$context.error.message`` where the default message is generic."""

    def __init__(self, response_type: str, detail: str = "", message: str | None = None) -> None:
        super().__init__(detail or response_type)
        self.response_type = response_type
        self.detail = detail
        self.message = message if message is not None else DEFAULT_RESPONSES[response_type][2]
        #: ``$context.error.validationErrorString``: what request validation found wrong.
        self.validation_error_string = ""

    def with_validation(self, errors: str) -> GatewayError:
        """This error, carrying request validation's findings for gateway response templates."""
        self.validation_error_string = errors
        return self


def describe_error(error: BaseException) -> str:
    """An exception as the server log shows it: its type and message."""
    return f"{type(error).__name__}: {error}"
