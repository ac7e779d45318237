"""S3 requests without the sandbox's account header reach the account that owns the bucket they name, as a bucket
name reaches its bucket in AWS (bucket names are global).

moto 5.2.5 finds a bucket of another account for such a request, but acts in the account it chose for the request
(the default one, as no header and no IAM user's key named another): an object POSTed with a presigned form, or
PUT with a presigned URL, is stored in the bucket while its event notification goes out as the default account's
and never reaches the owner's function, queue or topic. Whoever uses a presigned URL or form sends plain HTTP and
cannot send the sandbox's header; with this subsystem, the request is the bucket owner's, so its notifications,
and everything else moto does in the request's account, happen where the bucket lives. A request carrying the
header is left alone.
"""

from __future__ import annotations

from typing import Any

from moto.s3.models import S3BackendDict, s3_backends
from moto.s3.responses import S3Response

from awspatterns.sandbox.accounts import ACCOUNT_HEADER
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads

__all__ = ["PATCHED", "READS", "install"]

PATCHED: Patched = ((S3Response, "setup_class"),)

#: The moto state this module reads (checked by the canary tests).
READS: Reads = ((S3BackendDict, "bucket_accounts"), (S3Response, "bucket_name"), (S3Response, "current_account"))


def install(engine: Engine) -> None:
    """Make header-less S3 requests the bucket owner's."""
    original = S3Response.setup_class

    def setup_class(response: Any, request: Any, full_url: str | None = None, headers: Any = None) -> None:
        original(response, request, full_url, headers)
        if ACCOUNT_HEADER in request.headers:
            return
        owner = s3_backends.bucket_accounts.get(getattr(response, "bucket_name", None) or "")
        if owner is not None:
            response.current_account = owner[1]  # (partition, account id)

    replace(S3Response, "setup_class", setup_class)
