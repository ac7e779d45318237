"""boto3 sessions bound to one endpoint: the sandbox's, or whatever ``AWS_ENDPOINT_URL`` a caller passes."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.loaders
import botocore.session

__all__ = ["EndpointSession"]


class EndpointSession(boto3.Session):  # type: ignore[misc]
    """A boto3 session whose clients and resources talk to ``endpoint_url`` (AWS's own endpoints when ``None``)."""

    def __init__(self, endpoint_url: str | None = None, **session_arguments: Any) -> None:
        if "botocore_session" not in session_arguments:
            session_arguments["botocore_session"] = _botocore_session()
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


_LOADERS: dict[str | None, botocore.loaders.Loader] = {}


def _botocore_session() -> botocore.session.Session:
    """A botocore session whose data loader is shared with every other one made here.

    A new botocore session parses the JSON service models (and endpoint rules) of each client it creates, then
    keeps them in its loader: sessions are cheap to make (one per account and test), but each one's first clients
    cost tens of milliseconds of CPU per service. The models are read-only data, so one loader for the process
    parses each of them once; a changed ``AWS_DATA_PATH`` gets its own loader.
    """
    session = botocore.session.Session()
    data_path = session.get_config_variable("data_path")
    loader = _LOADERS.get(data_path)
    if loader is None:
        loader = _LOADERS.setdefault(data_path, botocore.loaders.create_loader(data_path))
    session.register_component("data_loader", loader)
    return session
