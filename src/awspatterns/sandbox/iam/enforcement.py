"""The IAM subsystem: every request to the sandbox's AWS endpoint is evaluated against its caller's identity
policies and the policy of the resource it addresses (bucket, queue, topic, function, key), combined as AWS does
(:mod:`authorization`), and denied (``on``), let through but logged (``soft``) or neither (``off``), per
``engine.settings.enforce``.

moto's own access control (``settings.INITIAL_NO_AUTH_ACTION_COUNT``) is left off: it rejects unknown access keys
(the sandbox's placeholders), authorizes most services on ``*``, ignores conditions, and answers every service
with IAM's XML error. Instead two hooks of moto's run the sandbox's evaluation: ``BaseResponse.call_action``
(every service but S3, before the operation runs) and S3's ``_authenticate_and_authorize_s3_action`` (called by
moto's S3 handlers with the bucket and key). Root callers (placeholder credentials) are let through at the cost
of parsing one header and one dict lookup, except for requests to a service whose resources carry policies:
those are looked up, because a resource policy's Deny (or a key policy that does not admit it) stops the root user
too.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse
from moto.iam import utils as iam_utils
from moto.utilities.utils import get_partition

from awspatterns.sandbox.iam import managed, resource_policies, resources
from awspatterns.sandbox.iam.authorization import ROOT_IDENTITY, combine
from awspatterns.sandbox.iam.conditions import Context
from awspatterns.sandbox.iam.credentials import MOTO_CALLS
from awspatterns.sandbox.iam.decisions import ALLOWED, DENIED, SOFT_DENIED, PermissionRecord, log_denial
from awspatterns.sandbox.iam.denials import denial_message, denial_response, s3_denial
from awspatterns.sandbox.iam.evaluation import evaluate
from awspatterns.sandbox.iam.policies import PolicyCache
from awspatterns.sandbox.iam.principals import Principal, Principals
from awspatterns.sandbox.iam.requests import SIGNING_TO_IAM, Check, Request, credentials_of
from awspatterns.sandbox.iam.resource_policies import POLICY_SERVICES, ResourcePolicies
from awspatterns.sandbox.iam.s3 import s3_checks
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "READS", "Enforcer", "install", "resource_account"]

log = logging.getLogger("awspatterns.sandbox.iam")

PATCHED: Patched = (
    (BaseResponse, "call_action"),
    (BaseResponse, "_get_action"),
    (BaseResponse, "_get_param"),
    (BaseResponse, "serialized"),
    (ActionAuthenticatorMixin, "_authenticate_and_authorize_s3_action"),
    (iam_utils, "ACCOUNT_OFFSET"),
    (iam_utils, "AWS_ROLE_ALPHABET"),
    *MOTO_CALLS,
    *resources.MOTO_READS,
    *managed.PATCHED,
)

#: The moto state read without patching it (checked by the canary tests): where resource policies live.
READS = resource_policies.READS


class Enforcer:
    """Evaluates requests and keeps the record of decisions (``engine.iam`` on the server)."""

    def __init__(self, mode: str) -> None:
        #: ``on``, ``soft`` or ``off`` (see :attr:`awspatterns.sandbox.subsystem.EngineSettings.enforce`).
        self.mode = mode
        self.principals = Principals()
        self.policies = PolicyCache()
        self.record = PermissionRecord()
        self.resource_policies = ResourcePolicies()

    def caller(self, response: Any) -> tuple[Principal, str | None]:
        """The principal of moto's current request, and the signing name of its credentials."""
        access_key, signing_name = credentials_of(response.headers, response.querystring)
        partition = get_partition(response.region)
        return self.principals.identify(access_key, response.current_account, partition), signing_name

    def decide(self, principal: Principal, checks: list[Check], service: str, region: str, account: str) -> str | None:
        """Evaluate every check for ``principal`` in a request to ``account`` against its identity policies and the
        resource's policy; record and log the outcome. Returns AWS's message for the first denied check, or ``None``
        when all are allowed."""
        sources = [] if principal.is_root else self.principals.policies_of(principal)
        parsed = [self.policies.parse(source) for source in sources]
        kinds = {"root": "Account", "assumed-role": "AssumedRole"}
        context = Context.of(
            **{
                "aws:PrincipalAccount": principal.account,
                "aws:PrincipalArn": principal.identity_arn,
                "aws:PrincipalType": kinds.get(principal.kind, "User"),
                "aws:RequestedRegion": region,
                **({"aws:username": principal.name} if principal.kind == "user" else {}),
                **({"kms:CallerAccount": principal.account} if service == "kms" else {}),
            }
        )
        denied: str | None = None
        for check in checks:
            found = self.resource_policies.find(check.action.partition(":")[0], check.resource, account)
            resource_account(context, check, found.owner if found is not None else account)
            identity = ROOT_IDENTITY if principal.is_root else evaluate(parsed, check.action, check.resource, context)
            resource = None
            if found is not None and found.source is not None:
                policy = self.policies.parse(found.source)
                resource = evaluate([policy], check.action, check.resource, context, caller=principal)
            owner = str(context.values["aws:resourceaccount"])
            key_policy = found is not None and check.action.startswith("kms:")
            verdict = combine(identity, resource, principal.account == owner, key_policy)
            if verdict.allowed:
                if not principal.is_root:
                    self.record.add(principal, check, ALLOWED)
                continue
            soft = self.mode == "soft"
            if not principal.is_root:
                self.record.add(principal, check, SOFT_DENIED if soft else DENIED)
            log_denial(principal, check, verdict, [source.name for source in sources], soft)
            denied = denied or denial_message(principal.arn, check, verdict, service)
            if not soft:
                break  # AWS stops at the first authorization that fails
        return denied if self.mode == "on" else None

    def permissions(self, account: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Role or user ARN -> every action it was allowed or denied, with resource and count."""
        return self.record.permissions(account)


def resource_account(context: Context, check: Check, request_account: str) -> None:
    """Set ``aws:ResourceAccount`` (and S3's ``s3:ResourceAccount``) for one check: the account in the resource's
    ARN, or the account the request addresses (S3 ARNs name none; the sandbox keeps a bucket in its account)."""
    parts = check.resource.split(":", 5)
    owner = parts[4] if len(parts) == 6 and parts[4].isdigit() else request_account
    context.values["aws:resourceaccount"] = owner
    if check.action.startswith("s3:"):
        context.values["s3:resourceaccount"] = owner
    else:
        context.values.pop("s3:resourceaccount", None)


def _call_action(enforcer: Enforcer, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call_action(response: Any) -> Any:
        principal, signing_name = enforcer.caller(response)
        service = SIGNING_TO_IAM.get(signing_name or "", signing_name or response.service_name)
        if principal.is_root and service not in POLICY_SERVICES:
            return original(response)
        # moto's base class reads the operation from the protocol (a few services override it with their own names)
        operation = BaseResponse._get_action(response) or response._get_action() or ""
        if (service, operation) == ("sts", "GetCallerIdentity"):
            return original(response)  # AWS allows it to everyone, whatever the policies say
        request = Request(response, service, operation)
        try:
            checks = resources.checks_for(request)
        except Exception:  # never fail open: authorize the action on "*" instead, and say why
            log.exception("IAM could not read the resource of %s:%s; authorizing it on *", service, operation)
            checks = [Check(f"{service}:{operation}", "*")]
        message = enforcer.decide(principal, checks, service, request.region, request.account)
        if message is not None:
            return denial_response(response, service, message)
        return original(response)

    return call_action


def _s3_authorize(enforcer: Enforcer) -> Callable[..., None]:
    def authorize(response: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        principal, _ = enforcer.caller(response)
        body = getattr(response, "body", None) if response.method == "POST" else None
        checks = s3_checks(
            response.method,
            response.querystring,
            response.headers,
            body,
            bucket_name,
            key_name,
            principal.partition,
        )
        message = enforcer.decide(principal, checks, "s3", response.region, response.current_account)
        if message is not None:
            raise s3_denial(bucket_name, message)

    return authorize


def install(engine: Engine) -> None:
    """Attach AWS-managed policies as AWS does, and evaluate every request unless enforcement is ``off``."""
    enforcer = Enforcer(engine.settings.enforce)
    # The control endpoint serves the record (GET /permissions); the engine is how it reaches the subsystem.
    engine.iam = enforcer  # type: ignore[attr-defined]
    managed.install(managed.AwsManagedPolicies())
    if enforcer.mode == "off":
        return
    # moto warns when an error code is not in the service's model; AWS's access denied codes often are not.
    warnings.filterwarnings("ignore", message=r"Exception\(AccessDenied\)", category=UserWarning)
    replace(BaseResponse, "call_action", _call_action(enforcer, BaseResponse.call_action))
    replace(ActionAuthenticatorMixin, "_authenticate_and_authorize_s3_action", _s3_authorize(enforcer))
