"""boto3 sessions bound to one endpoint: the sandbox's, or whatever ``AWS_ENDPOINT_URL`` a caller passes."""

from __future__ import annotations

from typing import Any

import boto3

__all__ = ["EndpointSession"]


class EndpointSession(boto3.Session):  # type: ignore[misc]
    """A boto3 session whose clients and resources talk to ``endpoint_url`` (AWS's own endpoints when ``None``)."""

    def __init__(self, endpoint_url: str | None = None, **session_arguments: Any) -> None:
        super().__init__(**session_arguments)
        self.endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """A client of the session's endpoint."""
        if self.endpoint_url:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """A resource of the session's endpoint."""
        if self.endpoint_url:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().resource(*args, **kwargs)
