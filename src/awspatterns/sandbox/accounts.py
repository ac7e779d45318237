"""The sandbox's accounts and region, and how a client addresses one of them."""

from __future__ import annotations

from typing import Any

from awspatterns.sessions import EndpointSession

__all__ = ["ACCOUNTS", "ACCOUNT_HEADER", "DEFAULT_REGION", "SandboxSession"]

DEFAULT_REGION = "us-east-1"
#: The main account (moto's default) and more for cross-account patterns: two sources, and an outsider that a
#: pattern's policies do not admit.
ACCOUNTS = {
    "main": "123456789012",
    "source-a": "111111111111",
    "source-b": "222222222222",
    "outsider": "333333333333",
}
ACCOUNT_HEADER = "x-moto-account-id"


class SandboxSession(EndpointSession):
    """A boto3 session whose clients talk to the sandbox, as one of its accounts."""

    def __init__(self, endpoint_url: str, account_id: str = ACCOUNTS["main"], region_name: str = DEFAULT_REGION):
        # The sandbox accepts any credentials; these are placeholders, not secrets.
        super().__init__(
            endpoint_url,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106
            region_name=region_name,
        )
        self.account_id = account_id

        def add_account_header(request: Any, **_: Any) -> None:
            request.headers[ACCOUNT_HEADER] = account_id

        self.events.register("before-sign.*.*", add_account_header)
