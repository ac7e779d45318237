"""Whose access key signed a request, and with which secret: the sandbox's placeholder key (``sandbox``, whose
secret is ``sandbox``), the access keys of IAM users and the temporary credentials of ``sts:AssumeRole``, as moto's
IAM and STS backends hold them in any account; and whether a session token goes with them as S3 requires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from awspatterns.sandbox.s3_presigned.errors import S3Error, invalid_access_key_id

__all__ = [
    "PLACEHOLDER_ACCESS_KEY",
    "SigningCredentials",
    "check_session",
    "find_credentials",
    "require_credentials",
]

#: The access key the sandbox's sessions, functions and documentation use; its secret is the same word.
PLACEHOLDER_ACCESS_KEY = "sandbox"


@dataclass(frozen=True)
class SigningCredentials:
    """An access key the sandbox knows, with its secret; temporary ones carry their session token and expiry."""

    access_key_id: str
    secret: str
    session_token: str | None = None
    expires_at: float | None = None


def find_credentials(access_key_id: str) -> SigningCredentials | None:
    """The credentials of an active access key in any account, or ``None`` for a key S3 would not know."""
    if access_key_id == PLACEHOLDER_ACCESS_KEY:
        return SigningCredentials(access_key_id, PLACEHOLDER_ACCESS_KEY)
    # Listed first: other requests may create accounts and backends while this one looks.
    for account_id, account in list(iam_backends.items()):
        for _, iam in list(account.items()):
            key = iam.access_keys.get(access_key_id)
            if key is None or key.status != "Active":
                continue
            if key.user_name is not None:
                return SigningCredentials(access_key_id, key.secret_access_key)
            return _assumed_role(account_id, access_key_id)
    return None


def _assumed_role(account_id: str, access_key_id: str) -> SigningCredentials | None:
    for _, sts in list(sts_backends.get(account_id, {}).items()):
        for role in list(sts.assumed_roles):
            if role.access_key_id == access_key_id:
                expires_at = role.expiration.replace(tzinfo=UTC).timestamp()  # moto's times are naive UTC
                return SigningCredentials(access_key_id, role.secret_access_key, role.session_token, expires_at)
    return None


def require_credentials(access_key_id: str) -> SigningCredentials:
    """The credentials of ``access_key_id``, or S3's 403 ``InvalidAccessKeyId``."""
    credentials = find_credentials(access_key_id)
    if credentials is None:
        raise invalid_access_key_id(access_key_id)
    return credentials


def check_session(credentials: SigningCredentials, token: str | None, now: float) -> None:
    """Refuse what S3 refuses of a session token: temporary credentials without theirs (403
    ``InvalidAccessKeyId``), a token that is not the key's (400 ``InvalidToken``), or one past its expiry (400
    ``ExpiredToken``)."""
    if credentials.session_token is None and token is None:
        return
    if token is None:
        raise invalid_access_key_id(credentials.access_key_id)
    if token != credentials.session_token:
        raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.", ("Token-0", token))
    if credentials.expires_at is not None and now >= credentials.expires_at:
        raise S3Error(400, "ExpiredToken", "The provided token has expired.", ("Token-0", token))
