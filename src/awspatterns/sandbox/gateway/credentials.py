"""The credentials an AWS service integration calls with: its execution role (``credentials``), assumed as API
Gateway assumes it, so that the call is evaluated against the role's policies under IAM enforcement.

API Gateway refuses to use a role that does not exist or whose trust policy does not admit
``apigateway.amazonaws.com`` (500, "Execution failed due to configuration error: API Gateway does not have
permission to assume the provided role"). Credential pass-through (``arn:aws:iam::*:user/*``) is not run."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from botocore.credentials import Credentials
from moto.iam.models import IAMBackend, iam_backends
from moto.utilities.utils import get_partition

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.gateway.messages import GatewayError
from awspatterns.sandbox.iam.credentials import RoleCredentials, role_credentials
from awspatterns.sandbox.subsystem import Patched

__all__ = ["MOTO_CALLS", "PLACEHOLDER", "SERVICE_PRINCIPAL", "SESSION_NAME", "IntegrationCredentials", "trusts"]

#: The moto internal this module calls (the canary tests check it exists).
MOTO_CALLS: Patched = ((IAMBackend, "get_role_by_arn"),)

SERVICE_PRINCIPAL = "apigateway.amazonaws.com"
#: The session name API Gateway gives the role sessions it assumes.
SESSION_NAME = "BackplaneAssumeRoleSession"
#: The sandbox's placeholder credentials: the account's root user.
PLACEHOLDER = Credentials("sandbox", "sandbox")
#: Credentials this close to their expiry are replaced.
RENEW_BEFORE_S = 300

log = logging.getLogger("awspatterns.sandbox.gateway")

_DENIED = (
    "Execution failed due to configuration error: API Gateway does not have permission to assume the provided role"
)


def trusts(trust_policy: Any, service: str = SERVICE_PRINCIPAL) -> bool:
    """Whether a role's trust policy lets ``service`` call ``sts:AssumeRole`` (no explicit Deny, one Allow)."""
    document = json.loads(trust_policy) if isinstance(trust_policy, str) else trust_policy or {}
    statements = document.get("Statement", [])
    allowed = False
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if principal != "*" and service not in services:
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


class IntegrationCredentials:
    """Role sessions of integration roles, minted on first use and renewed before they expire."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], RoleCredentials] = {}
        self._lock = threading.Lock()

    def for_integration(self, integration: Any, api: Any) -> Credentials:
        """The credentials to sign the integration's request with."""
        role_arn = integration.credentials
        if not role_arn:
            # AWS needs a role to call another service; the sandbox calls as the account's root and says so.
            log.warning("%s: an AWS integration without credentials calls as the account's root user", api.id)
            return PLACEHOLDER
        if role_arn == "arn:aws:iam::*:user/*":
            raise GatewayError(
                "API_CONFIGURATION_ERROR", "caller credential pass-through is not run by the sandbox gateway"
            )
        self._check_role(role_arn, api.region_name)
        key = (role_arn, api.region_name)
        with self._lock:
            current = self._sessions.get(key)
            if current is None or current.expires_within(RENEW_BEFORE_S):
                current = role_credentials(role_arn, session_name=SESSION_NAME, region=api.region_name)
                self._sessions[key] = current
        return Credentials(current.access_key_id, current.secret_access_key, current.session_token)

    @staticmethod
    def _check_role(role_arn: str, region: str) -> None:
        try:
            arn = Arn.parse(role_arn)
            role = iam_backends[arn.account][get_partition(region)].get_role_by_arn(role_arn)
        except Exception as error:
            raise GatewayError("API_CONFIGURATION_ERROR", f"{_DENIED}: {role_arn} does not exist ({error})") from error
        if not trusts(role.assume_role_policy_document):
            raise GatewayError(
                "API_CONFIGURATION_ERROR",
                f"{_DENIED}: the trust policy of {role_arn} does not admit {SERVICE_PRINCIPAL}",
            )
