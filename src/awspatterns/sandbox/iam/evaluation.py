"""Policy evaluation, as IAM does it for one policy kind: an explicit Deny wins, then any Allow; without an Allow
the request is denied. Identity policies apply to their principal; a resource policy's statements apply to the
callers their ``Principal`` names (:mod:`principal_match`); :mod:`authorization` combines the two kinds. A
statement the sandbox cannot evaluate never allows: in a Deny it denies, in an Allow it grants nothing, and either
way the verdict says which statement and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from awspatterns.sandbox.iam.conditions import Context, Unevaluable, clause_holds, substitute_variables
from awspatterns.sandbox.iam.policies import ParsedPolicy, Statement, glob_pattern
from awspatterns.sandbox.iam.principal_match import ACCOUNT, principal_match
from awspatterns.sandbox.iam.principals import PolicySource, Principal

__all__ = ["ALLOWED", "EXPLICIT_DENY", "IDENTITY", "NO_ALLOW", "RESOURCE", "UNEVALUABLE", "Verdict", "evaluate"]

ALLOWED = "allowed"
EXPLICIT_DENY = "explicit-deny"
NO_ALLOW = "no-allow"
UNEVALUABLE = "unevaluable"

#: The policy kinds, as AWS's messages name them.
IDENTITY = "identity-based"
RESOURCE = "resource-based"


@dataclass(frozen=True)
class Verdict:
    """The outcome of evaluating one action on one resource, with what decided it."""

    allowed: bool
    #: ``allowed``, ``explicit-deny``, ``no-allow`` or ``unevaluable``.
    reason: str
    #: The policy whose statement decided (an Allow, a Deny, or the statement that could not be evaluated).
    policy: PolicySource | None = None
    #: That statement: ``Sid "X"`` or ``statement #N``.
    statement: str | None = None
    #: For ``unevaluable``: what the sandbox could not evaluate (operator and key, or the malformed element).
    detail: str = ""
    #: Whether a Deny statement decided (an explicit deny, or a Deny the sandbox could not evaluate).
    explicit: bool = False
    #: Which kind of policy decided: ``identity-based`` or ``resource-based``.
    kind: str = IDENTITY
    #: An Allow of a resource policy that names the caller's account, not the caller: it delegates to the
    #: account's IAM (the caller's identity policies must allow too).
    through_account: bool = False

    def explain(self) -> str:
        """One line saying why, for the server log."""
        where = f"{self.statement} of {self.policy.name}" if self.policy else ""
        if self.reason == ALLOWED:
            return f"allowed by {where}"
        if self.reason == EXPLICIT_DENY:
            return f"explicit Deny: {where}"
        if self.reason == UNEVALUABLE:
            effect = "Deny" if self.explicit else "Allow"
            return f"the sandbox cannot evaluate {effect} {where}: {self.detail}"
        return f"no {self.kind} policy allows it"


def _resource_matches(statement: Statement, resource: str, context: Context) -> bool:
    if statement.resources is not None:
        matched = statement.resources.match(resource) is not None
    else:
        patterns = [substitute_variables(p, context) for p in statement.resource_patterns]
        matched = glob_pattern(patterns).match(resource) is not None
    return matched != statement.not_resource


def _applies(statement: Statement, action: str, resource: str, context: Context) -> bool:
    if statement.actions is not None and (statement.actions.match(action) is not None) == statement.not_action:
        return False
    if statement.problem:
        raise Unevaluable(None, statement.problem)
    if not statement.resource_patterns:
        raise Unevaluable(None, "a statement without Resource or NotResource")
    if not _resource_matches(statement, resource, context):
        return False
    return all(clause_holds(clause, context) for clause in statement.conditions)


def evaluate(
    policies: Sequence[ParsedPolicy],
    action: str,
    resource: str,
    context: Context,
    caller: Principal | None = None,
) -> Verdict:
    """Evaluate ``action`` on ``resource`` against a principal's identity policies, or (with ``caller``) against
    resource policies, whose statements apply to the callers their ``Principal`` names."""
    kind = IDENTITY if caller is None else RESOURCE
    allow: Verdict | None = None
    unevaluable: Verdict | None = None
    for policy in policies:
        for statement in policy.statements:
            named = None
            if caller is not None:
                named = principal_match(statement, caller) if statement.principals is not None else "missing"
                if named is None:
                    continue
            try:
                if named == "missing":
                    raise Unevaluable(None, "a resource policy statement without Principal or NotPrincipal")
                if not _applies(statement, action, resource, context):
                    continue
            except Unevaluable as error:
                deny = statement.effect == "Deny"
                verdict = Verdict(
                    False, UNEVALUABLE, policy.source, statement.label, str(error), explicit=deny, kind=kind
                )
                if deny:
                    return verdict
                unevaluable = unevaluable or verdict
                continue
            if statement.effect == "Deny":
                return Verdict(False, EXPLICIT_DENY, policy.source, statement.label, explicit=True, kind=kind)
            found = Verdict(True, ALLOWED, policy.source, statement.label, kind=kind, through_account=named == ACCOUNT)
            if allow is None or (allow.through_account and not found.through_account):
                allow = found
    return allow or unevaluable or Verdict(False, NO_ALLOW, kind=kind)
