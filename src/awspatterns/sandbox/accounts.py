"""The sandbox's accounts and region, and how a client addresses one of them."""

from __future__ import annotations

from typing import Any

import boto3

DEFAULT_REGION = "us-east-1"
#: The main account (moto's default) and two more, for cross-account patterns.
ACCOUNTS = {"main": "123456789012", "source-a": "111111111111", "source-b": "222222222222"}
ACCOUNT_HEADER = "x-moto-account-id"


class SandboxSession(boto3.Session):  # type: ignore[misc]
    """A boto3 session whose clients talk to the sandbox, as one of its accounts."""

    def __init__(self, endpoint_url: str, account_id: str = ACCOUNTS["main"], region_name: str = DEFAULT_REGION):
        # The sandbox accepts any credentials; these are placeholders, not secrets.
        super().__init__(
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106
            region_name=region_name,
        )
        self.endpoint_url = endpoint_url
        self.account_id = account_id

        def add_account_header(request: Any, **_: Any) -> None:
            request.headers[ACCOUNT_HEADER] = account_id

        self.events.register("before-sign.*.*", add_account_header)

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """A client of the sandbox endpoint."""
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """A resource of the sandbox endpoint."""
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().resource(*args, **kwargs)
