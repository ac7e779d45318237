"""Policy documents parsed once for evaluation: statements with their action and resource patterns compiled, and
their conditions as clauses. Parsed policies are cached per document (so per policy version): enforcement runs on
every request and must not parse JSON or compile patterns each time."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from awspatterns.sandbox.iam.principals import PolicySource

__all__ = ["ConditionClause", "ParsedPolicy", "PolicyCache", "Statement", "glob_pattern", "parse_policy"]

#: How many parsed documents the cache keeps before starting afresh (documents are small; accounts are many).
CACHE_LIMIT = 20_000

OPERATOR = re.compile(r"^(?:(ForAnyValue|ForAllValues):)?(.+?)(IfExists)?$")


def glob_pattern(patterns: list[str], ignore_case: bool = False) -> re.Pattern[str]:
    """One regular expression matching any of IAM's wildcard patterns (``*`` any run of characters, ``?`` one)."""
    parts = [re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") for p in patterns]
    return re.compile(f"^(?:{'|'.join(parts)})$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@dataclass(frozen=True)
class ConditionClause:
    """One key of one operator block of a ``Condition`` (values are OR-ed; clauses are AND-ed)."""

    #: The operator as written, e.g. ``ForAnyValue:StringLikeIfExists``.
    operator: str
    #: The operator without set qualifier and ``IfExists``, e.g. ``StringLike``.
    base: str
    #: ``ForAnyValue``, ``ForAllValues`` or ``""``.
    qualifier: str
    if_exists: bool
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """A statement ready for evaluation."""

    index: int
    sid: str | None
    effect: str
    #: Compiled ``Action`` (or ``NotAction`` when ``not_action``); ``None`` when the element is missing.
    actions: re.Pattern[str] | None
    not_action: bool
    #: ``Resource`` (or ``NotResource``) patterns as written; compiled when they hold no policy variable.
    resource_patterns: tuple[str, ...]
    resources: re.Pattern[str] | None
    not_resource: bool
    conditions: tuple[ConditionClause, ...]
    #: Why the sandbox cannot evaluate this statement (a malformed element), or ``None``.
    problem: str | None = None
    #: A resource policy's ``Principal`` (or ``NotPrincipal`` when ``not_principal``) as ``(kind, value)`` pairs:
    #: ``("*", "*")``, ``("AWS", arn or account)``, ``("Service", name)``; ``None`` in identity policies.
    principals: tuple[tuple[str, str], ...] | None = None
    not_principal: bool = False

    @property
    def label(self) -> str:
        """How a log line names the statement: its ``Sid``, or its position."""
        return f'Sid "{self.sid}"' if self.sid else f"statement #{self.index}"

    @property
    def has_variables(self) -> bool:
        """Whether the resource patterns use policy variables (``${aws:username}``), resolved per request."""
        return self.resources is None and bool(self.resource_patterns)


@dataclass(frozen=True)
class ParsedPolicy:
    """A policy's statements, with the policy it came from."""

    source: PolicySource
    statements: tuple[Statement, ...]


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [json.dumps(v) if isinstance(v, bool) else str(v) for v in items]


def _principals(value: Any) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("*", "*"),)
    if isinstance(value, str):  # moto keeps a Lambda permission's account principal as given (AWS writes it out)
        return (("Service" if value.endswith(".amazonaws.com") else "AWS", value),)
    if not isinstance(value, dict):
        raise ValueError('a Principal is "*" or an object')
    return tuple((str(kind), v) for kind, values in value.items() for v in _strings(values))


def _load(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    text = document.decode("utf-8") if isinstance(document, bytes) else str(document)
    try:
        loaded = json.loads(text)
    except ValueError:
        loaded = json.loads(unquote(text))
    if not isinstance(loaded, dict):
        raise ValueError("a policy document is a JSON object")
    return loaded


def _statement(index: int, raw: Any) -> Statement:
    if not isinstance(raw, dict) or raw.get("Effect") not in ("Allow", "Deny"):
        return Statement(index, None, "Deny", None, False, (), None, False, (), "malformed statement")
    sid = raw.get("Sid")
    not_action = "Action" not in raw and "NotAction" in raw
    action_value = raw.get("NotAction" if not_action else "Action")
    actions = None if action_value is None else glob_pattern(_strings(action_value), ignore_case=True)
    not_resource = "Resource" not in raw and "NotResource" in raw
    resource_value = raw.get("NotResource" if not_resource else "Resource")
    patterns = tuple(_strings(resource_value)) if resource_value is not None else ()
    resources = glob_pattern(list(patterns)) if patterns and not any("${" in p for p in patterns) else None
    clauses: list[ConditionClause] = []
    condition = raw.get("Condition") or {}
    problem = None if isinstance(condition, dict) else "malformed Condition"
    for operator, keys in condition.items() if isinstance(condition, dict) else ():
        match = OPERATOR.match(operator)
        if not isinstance(keys, dict) or match is None:
            problem = f"malformed condition operator {operator}"
            continue
        qualifier, base, if_exists = match.group(1) or "", match.group(2), bool(match.group(3))
        for key, values in keys.items():
            clauses.append(ConditionClause(operator, base, qualifier, if_exists, key, tuple(_strings(values))))
    if actions is None:
        problem = problem or "statement without Action or NotAction"
    not_principal = "Principal" not in raw and "NotPrincipal" in raw
    principal_value = raw.get("NotPrincipal" if not_principal else "Principal")
    principals = None
    if principal_value is not None:
        try:
            principals = _principals(principal_value)
        except ValueError as error:
            problem, principals = problem or str(error), ()
    return Statement(
        index,
        str(sid) if sid is not None else None,
        raw["Effect"],
        actions,
        not_action,
        patterns,
        resources,
        not_resource,
        tuple(clauses),
        problem,
        principals,
        not_principal,
    )


def parse_policy(source: PolicySource) -> ParsedPolicy:
    """Parse one policy document. A document the sandbox cannot read becomes one unevaluable statement (the
    request is then denied and the log says why), never an allowing one."""
    try:
        document = _load(source.document)
        raw_statements = document.get("Statement", [])
        if isinstance(raw_statements, dict):
            raw_statements = [raw_statements]
        statements = tuple(_statement(i, raw) for i, raw in enumerate(raw_statements))
    except (ValueError, TypeError, AttributeError) as error:
        statements = (Statement(0, None, "Deny", None, False, (), None, False, (), f"unreadable document: {error}"),)
    return ParsedPolicy(source, statements)


class PolicyCache:
    """Parsed policies by document: a document object is parsed once, while moto keeps it (a new policy version or
    an updated inline policy is a new document object)."""

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        self._parsed: dict[int, tuple[Any, ParsedPolicy]] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def parse(self, source: PolicySource) -> ParsedPolicy:
        """``source`` parsed, from the cache when its document was parsed before."""
        entry = self._parsed.get(id(source.document))
        if entry is not None and entry[0] is source.document and entry[1].source.name == source.name:
            return entry[1]
        parsed = parse_policy(source)
        with self._lock:
            if len(self._parsed) >= self._limit:
                self._parsed.clear()
            # The entry holds the document itself, so its id cannot be reused by another object while cached.
            self._parsed[id(source.document)] = (source.document, parsed)
        return parsed

    def __len__(self) -> int:
        return len(self._parsed)
