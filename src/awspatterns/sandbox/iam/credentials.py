"""Temporary credentials of a role, minted in the server process as Lambda gets them for a function's execution
role: what the runtime puts in an execution environment so that the function's calls are evaluated against its
role's policies.

Usage by the runtime (in the server process)::

    credentials = role_credentials(function_role_arn, session_name=function_name, region=region)
    environment.update(credentials.environment())  # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
    ...
    if credentials.expires_within(300):  # renew before they expire, as Lambda does
        credentials = role_credentials(...)

The environment keeps sending its account header (``x-moto-account-id``); the access key identifies the role
session, ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION`` in access denied messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moto.sts.models import STSBackend, sts_backends
from moto.utilities.utils import get_partition

from awspatterns.sandbox.accounts import DEFAULT_REGION
from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.subsystem import Patched

__all__ = ["DEFAULT_DURATION_S", "MOTO_CALLS", "RoleCredentials", "role_credentials"]

#: How long minted credentials last (Lambda's last up to 12 hours; environments live shorter than that).
DEFAULT_DURATION_S = 12 * 3600

#: The moto internal this module calls (the canary tests check it exists).
MOTO_CALLS: Patched = ((STSBackend, "assume_role"),)


@dataclass(frozen=True)
class RoleCredentials:
    """A role session's temporary credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    #: ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``: the caller AWS's messages name.
    session_arn: str

    def environment(self) -> dict[str, str]:
        """The variables an execution environment gets (as Lambda sets them)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def expires_within(self, seconds: float) -> bool:
        """Whether the credentials expire in less than ``seconds`` (time to renew them)."""
        expiration = self.expiration if self.expiration.tzinfo else self.expiration.replace(tzinfo=UTC)
        return expiration - datetime.now(UTC) < timedelta(seconds=seconds)


def role_credentials(
    role_arn: str, session_name: str, region: str = DEFAULT_REGION, duration_s: int = DEFAULT_DURATION_S
) -> RoleCredentials:
    """Assume ``role_arn`` (without a trust-policy check: Lambda's service principal assumes function roles) and
    return the session's credentials; calls made with them are evaluated against the role's policies."""
    arn = Arn.parse(role_arn)
    partition = get_partition(region)
    session = sts_backends[arn.account][partition].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy="",
        duration=duration_s,
        external_id="",
    )
    return RoleCredentials(
        session.access_key_id, session.secret_access_key, session.session_token, session.expiration, session.arn
    )
