"""Each function's execution-role credentials, as Lambda gives them to its execution environments: temporary
credentials of the function's role, renewed before they expire, so that every call the function makes is
evaluated against its role's policies (see ``awspatterns.sandbox.iam``)."""

from __future__ import annotations

import threading

from awspatterns.sandbox.iam.credentials import RoleCredentials, role_credentials

__all__ = ["RENEW_BEFORE_S", "FunctionCredentials"]

#: Credentials this close to their expiry are replaced (environments started after that get the new ones).
RENEW_BEFORE_S = 300


class FunctionCredentials:
    """The current credentials of each function's role session, minted on first use and renewed when due."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str, str], RoleCredentials] = {}
        self._lock = threading.Lock()

    def environment(self, role_arn: str, function_name: str, region: str) -> tuple[tuple[str, str], ...]:
        """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN`` of the function's role
        session (the session is named after the function, as Lambda names it)."""
        key = (role_arn, function_name, region)
        with self._lock:
            current = self._sessions.get(key)
            if current is None or current.expires_within(RENEW_BEFORE_S):
                current = role_credentials(role_arn, session_name=function_name, region=region)
                self._sessions[key] = current
        return tuple(sorted(current.environment().items()))
