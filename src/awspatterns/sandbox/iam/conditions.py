"""Condition keys and operators: what the sandbox can evaluate, and a loud refusal for what it cannot.

A request's context holds the global keys the sandbox knows (``aws:SecureTransport`` is ``true``: the sandbox
endpoint stands for AWS's TLS endpoint, so TLS-only Deny statements keep their meaning; ``aws:PrincipalAccount``,
``aws:PrincipalArn``, ``aws:ResourceAccount``, ...), and it knows which keys a direct call by a user or role never
carries (``aws:SourceArn``, ``aws:SourceAccount``, ``kms:ViaService``: only services calling on a resource's or a
caller's behalf send them). Any other key (``aws:SourceIp``, tags, service-specific keys) and any operator it
does not implement make the clause *unevaluable*: the evaluation then denies and the log names key and operator.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from awspatterns.sandbox.iam.policies import ConditionClause, glob_pattern

__all__ = ["ABSENT_KEYS", "Context", "Unevaluable", "clause_holds", "substitute_variables"]

#: Keys a request made directly by a user or role never has (lower case, as keys compare case-insensitively).
ABSENT_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:federatedprovider",
        "kms:viaservice",  # only when a service calls KMS on the caller's behalf
    }
)

STRING = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}
LIKE = {"StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
RELATIONS = ("Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")
NUMERIC = {f"Numeric{relation}" for relation in RELATIONS}
DATE = {f"Date{relation}" for relation in RELATIONS}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"} | {
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
}


class Unevaluable(Exception):
    """A clause the sandbox cannot evaluate: the request is denied, loudly."""

    def __init__(self, clause: ConditionClause | None, why: str) -> None:
        super().__init__(f"condition {clause.operator} on key {clause.key}: {why}" if clause else why)
        self.clause = clause
        self.why = why


@dataclass
class Context:
    """The condition keys of one request (names compared case-insensitively)."""

    values: dict[str, str | list[str]] = field(default_factory=dict)
    #: Keys known to be absent from this request (a service principal's request lacks the caller's keys).
    absent: frozenset[str] = ABSENT_KEYS

    @classmethod
    def of(cls, **values: str | list[str]) -> Context:
        """A context from ``{key: value}`` (keys in any case)."""
        return cls({k.lower(): v for k, v in values.items()})

    def __post_init__(self) -> None:
        self.values.setdefault("aws:securetransport", "true")
        self.values.setdefault("aws:principalisawsservice", "false")
        self.values.setdefault("aws:viaawsservice", "false")

    def lookup(self, clause: ConditionClause) -> list[str] | None:
        """The key's values in this request; ``None`` when absent.

        Raises:
            Unevaluable: the sandbox does not know whether or how the request carries this key.
        """
        key = clause.key.lower()
        if key in ("aws:currenttime", "aws:epochtime") and key not in self.values:
            now = time.time()
            self.values["aws:currenttime"] = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.values["aws:epochtime"] = str(int(now))
        if key in self.values:
            value = self.values[key]
            return value if isinstance(value, list) else [value]
        if key in self.absent:
            return None
        raise Unevaluable(clause, "the sandbox does not know this key's value")


def substitute_variables(text: str, context: Context, clause: ConditionClause | None = None) -> str:
    """Replace policy variables (``${aws:username}``, ``${*}``) with the request's values.

    Raises:
        Unevaluable: a variable the request has no value for.
    """
    if "${" not in text:
        return text
    out: list[str] = []
    rest = text
    while "${" in rest:
        before, _, tail = rest.partition("${")
        name, closed, rest = tail.partition("}")
        if not closed:
            raise Unevaluable(clause, f"unterminated policy variable in {text!r}")
        out.append(before)
        if name in ("*", "?", "$"):
            out.append(name)
            continue
        value = context.values.get(name.lower())
        if not isinstance(value, str):
            raise Unevaluable(clause, f"the sandbox has no value for the policy variable ${{{name}}}")
        out.append(value)
    out.append(rest)
    return "".join(out)


def _matches(base: str, actual: str, expected: str) -> bool:
    if base in ("StringEquals", "StringNotEquals"):
        return actual == expected
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected.lower()
    if base in LIKE:
        return glob_pattern([expected]).match(actual) is not None
    if base == "Bool":
        return actual.lower() == expected.lower()
    if base in NUMERIC:
        return _compare(base.removeprefix("Numeric"), float(actual), float(expected))
    if base in DATE:
        return _compare(base.removeprefix("Date"), _epoch(actual), _epoch(expected))
    if base in ("IpAddress", "NotIpAddress"):
        return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
    raise KeyError(base)


def _compare(relation: str, actual: float, expected: float) -> bool:
    return {
        "Equals": actual == expected,
        "NotEquals": actual == expected,  # negation applied by the caller
        "LessThan": actual < expected,
        "LessThanEquals": actual <= expected,
        "GreaterThan": actual > expected,
        "GreaterThanEquals": actual >= expected,
    }[relation]


def _epoch(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def clause_holds(clause: ConditionClause, context: Context) -> bool:
    """Whether one condition clause holds for the request.

    Raises:
        Unevaluable: the key or the operator is one the sandbox cannot evaluate.
    """
    if clause.base == "Null":
        present = _present(clause, context)
        return all((v.lower() == "true") != present for v in clause.values)
    if clause.base not in STRING | LIKE | NUMERIC | DATE | {"Bool", "IpAddress", "NotIpAddress"}:
        raise Unevaluable(clause, "the sandbox does not implement this operator")
    actual = context.lookup(clause)
    negated = clause.base in NEGATED
    if actual is None or (clause.qualifier and not actual):
        if clause.if_exists or clause.qualifier == "ForAllValues":
            return True
        return negated and clause.qualifier != "ForAnyValue"
    try:
        expected = [substitute_variables(v, context, clause) for v in clause.values]
        hits = [any(_matches(clause.base, a, e) for e in expected) for a in actual]
    except (ValueError, TypeError) as error:
        raise Unevaluable(clause, f"values cannot be compared ({error})") from error
    if clause.qualifier == "ForAllValues":
        return all(not h for h in hits) if negated else all(hits)
    return any(not h for h in hits) if negated else any(hits)


def _present(clause: ConditionClause, context: Context) -> bool:
    try:
        return context.lookup(clause) is not None
    except Unevaluable:
        raise Unevaluable(clause, "the sandbox does not know whether requests carry this key") from None
