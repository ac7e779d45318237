"""Request body validation as API Gateway does it: the body against the method's model (JSON Schema draft 4).

A body that is not JSON or does not match the model gets the default ``{"message": "Invalid request body"}``;
what was wrong goes to ``$context.error.validationErrorString`` for a gateway response template, worded as API
Gateway words it (it validates with a Java JSON-schema library): ``[object has missing required properties
(["quantity"])]``, ``[instance type (string) does not match any allowed primitive type (allowed: ["integer"])]``.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from awspatterns.sandbox.gateway.messages import GatewayError

__all__ = ["body_errors", "check_body"]


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"  # 1.0 too: draft 4 counts only numbers written without a fraction as integers
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _describe(error: jsonschema.ValidationError) -> str:
    """One validation error in API Gateway's words; keywords it words differently fall back to jsonschema's."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return f"object has missing required properties ({_compact(sorted(missing))})"
    if keyword == "type":
        allowed = sorted([expected] if isinstance(expected, str) else expected)
        return (
            f"instance type ({_type_of(instance)}) does not match any allowed primitive type "
            f"(allowed: {_compact(allowed)})"
        )
    if keyword == "additionalProperties":
        known = set((error.schema or {}).get("properties", {}))
        extra = sorted(name for name in instance if name not in known)
        return f"object instance has properties which are not allowed by the schema: {_compact(extra)}"
    if keyword == "minimum":
        return f"numeric instance is lower than the required minimum (minimum: {expected}, found: {instance})"
    if keyword == "maximum":
        return f"numeric instance is greater than the required maximum (maximum: {expected}, found: {instance})"
    if keyword == "minLength":
        return f"string {_compact(instance)} is too short (length: {len(instance)}, required minimum: {expected})"
    if keyword == "maxLength":
        return f"string {_compact(instance)} is too long (length: {len(instance)}, maximum allowed: {expected})"
    if keyword == "minItems":
        return f"array is too short: must have at least {expected} elements but instance has {len(instance)} elements"
    if keyword == "maxItems":
        return f"array is too long: must have at most {expected} elements but instance has {len(instance)} elements"
    if keyword == "pattern":
        return f"ECMA 262 regex {_compact(expected)} does not match input string {_compact(instance)}"
    if keyword == "enum":
        return f"instance value ({_compact(instance)}) not found in enum (possible values: {_compact(expected)})"
    return str(error.message)


def body_errors(body: bytes, schema: dict[str, Any]) -> list[str]:
    """What is wrong with ``body`` for ``schema`` (draft 4), in API Gateway's words; empty when it is valid."""
    try:
        document = json.loads(body or b"null")
    except ValueError as error:
        return [f"Invalid JSON: {error}"]
    validator = jsonschema.Draft4Validator(schema)
    ordered = sorted(validator.iter_errors(document), key=lambda e: (list(e.absolute_path), str(e.validator)))
    return [_describe(error) for error in ordered]


def check_body(body: bytes, schema: dict[str, Any], model_name: str) -> None:
    """Raise the ``BAD_REQUEST_BODY`` gateway error, with its validation error string, for an invalid body."""
    errors = body_errors(body, schema)
    if errors:
        detail = f"[{', '.join(errors)}]"
        raise GatewayError("BAD_REQUEST_BODY", f"body does not match model {model_name}: {detail}").with_validation(
            detail
        )
