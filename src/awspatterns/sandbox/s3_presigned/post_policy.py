"""The POST policy language as S3 evaluates it: a base64 JSON document with an ``expiration`` and ``conditions``
(``{"field": "value"}`` and ``["eq", "$field", "value"]`` for exact matches, ``["starts-with", "$field", "prefix"]``,
``["content-length-range", min, max]``). Condition names are case-insensitive and values case-sensitive; every form
field needs a condition (except the signature, the file, the policy and ``x-ignore-`` fields). Failures raise S3's
errors: 400 ``InvalidPolicyDocument`` for a malformed document, 403 ``AccessDenied`` "Invalid according to Policy:
..." for an expired policy, a failed condition or an extra field, and 400 ``EntityTooSmall``/``EntityTooLarge``."""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import time
from dataclasses import dataclass

from awspatterns.sandbox.s3_presigned.errors import S3Error, access_denied
from awspatterns.sandbox.s3_presigned.forms import UploadForm

__all__ = ["Condition", "PostPolicy", "check_policy", "parse_policy"]

EXPIRATION_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Condition:
    """One condition: ``eq`` or ``starts-with`` comparing ``field`` (lowercase, as named after its ``$``; ``None``
    when the name lacks the ``$``) with ``value``, or ``content-length-range`` with its ``bounds`` as written;
    ``text`` is how S3 quotes it when it fails."""

    operator: str
    field: str | None
    value: str
    text: str
    bounds: tuple[object, object] = (None, None)


@dataclass(frozen=True)
class PostPolicy:
    """A decoded policy: when it expires (epoch seconds) and its conditions, in order."""

    expiration: float
    conditions: tuple[Condition, ...]


def _invalid(detail: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {detail}")


def parse_policy(encoded: str) -> PostPolicy:
    """Decode a form's ``policy`` field.

    Raises:
        S3Error: 400 ``InvalidPolicyDocument`` saying what is wrong with it.
    """
    try:
        text = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid("invalid Base64 encoding.") from None
    try:
        document = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except ValueError:
        raise _invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    for member in document:
        if member not in ("expiration", "conditions"):
            raise _invalid(f"Unexpected: '{member.lower()}'")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    if "conditions" not in document:
        raise _invalid("Policy missing conditions.")
    if not isinstance(document["conditions"], list):
        raise _invalid("Invalid 'conditions' value: must be a List.")
    return PostPolicy(_expiration(document["expiration"]), tuple(_condition(c) for c in document["conditions"]))


def _no_float(text: str) -> float:
    # S3 reads no fractional numbers in a policy (a bound of 512.0 is "Invalid JSON.").
    raise ValueError(text)


def _expiration(value: object) -> float:
    for form in EXPIRATION_FORMATS:
        try:
            return float(calendar.timegm(time.strptime(str(value), form)))
        except ValueError:
            continue
    raise _invalid(f"Invalid 'expiration' value: '{value}'")


def _field(name: str) -> str | None:
    return name[1:].lower() if name.startswith("$") else None


def _condition(condition: object) -> Condition:
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        ((name, value),) = condition.items()
        if not isinstance(value, str):
            raise _invalid("Invalid Simple-Condition: value must be a string.")
        # S3 quotes a simple condition as the eq condition it stands for.
        return Condition("eq", name.lower(), value, json.dumps(["eq", f"${name}", value], ensure_ascii=False))
    if not isinstance(condition, list):
        raise _invalid("Invalid condition test: must be a List or Object.")
    if not condition or not isinstance(condition[0], str):
        raise _invalid("Invalid Condition: missing operation identifier.")
    operator = condition[0].lower()
    if operator not in ("eq", "starts-with", "content-length-range"):
        raise _invalid(f"Invalid Condition: unknown operation '{condition[0]}'.")
    if len(condition) != 3:
        raise _invalid(f"Invalid {condition[0]}: wrong number of arguments.")
    text = json.dumps(condition, ensure_ascii=False)
    if operator == "content-length-range":
        low, high = condition[1], condition[2]
        if any(isinstance(bound, int) and bound < 0 for bound in (low, high)):
            raise _invalid("Invalid content-length-range: bounds must not be negative.")
        return Condition(operator, None, "", text, (low, high))
    name, value = condition[1], condition[2]
    if not isinstance(name, str) or not isinstance(value, str):
        raise _invalid("Invalid JSON.")
    return Condition(operator, _field(name), value, text)


def check_policy(policy: PostPolicy, form: UploadForm, bucket: str, exempt: frozenset[str], now: float) -> None:
    """Check an upload against its decoded policy, in S3's order: expiry, the conditions on fields, fields no
    condition names (``exempt`` lists the signature's own fields), then the object's size.

    Raises:
        S3Error: 403 ``AccessDenied`` or 400 ``EntityTooSmall``/``EntityTooLarge``, as S3 answers.
    """
    if now > policy.expiration:
        raise access_denied("Invalid according to Policy: Policy expired.")
    named: set[str] = set()
    ranges: list[Condition] = []
    for condition in policy.conditions:
        if condition.operator == "content-length-range":
            ranges.append(condition)
            continue
        if condition.field is not None:
            named.add(condition.field)
        if not _holds(condition, form, bucket):
            raise access_denied(f"Invalid according to Policy: Policy Condition failed: {condition.text}")
    extra = [
        name
        for name in form.names()
        if name.lower() not in named and name.lower() not in exempt and not name.lower().startswith("x-ignore-")
    ]
    if extra:
        raise access_denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    for condition in ranges:
        _check_size(condition, form.size)


def _holds(condition: Condition, form: UploadForm, bucket: str) -> bool:
    if condition.field is None:
        return False
    actual = bucket if condition.field == "bucket" else form.get(condition.field)
    if actual is None:
        return False  # even starts-with "" needs the field to be there
    expected = condition.value
    if condition.operator == "eq":
        return actual == expected
    if condition.field == "content-type":
        # A Content-Type holding a comma-separated list passes only if every type in it does.
        return all(part.strip().startswith(expected) for part in actual.split(","))
    return actual.startswith(expected)


def _check_size(condition: Condition, size: int) -> None:
    low, high = condition.bounds
    try:
        minimum, maximum = int(str(low)), int(str(high))
    except ValueError:
        raise access_denied(f"Invalid according to Policy: Policy Condition failed: {condition.text}") from None
    if size < minimum:
        raise S3Error(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            ("ProposedSize", str(size)),
            ("MinSizeAllowed", str(minimum)),
        )
    if size > maximum:
        raise S3Error(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ("ProposedSize", str(size)),
            ("MaxSizeAllowed", str(maximum)),
        )
