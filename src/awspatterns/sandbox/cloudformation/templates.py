"""Templates as CloudFormation accepts them, checked before anything is created and refused with CloudFormation's
own messages: the size limits, JSON or YAML that parses (with the short-form tags such as ``!Ref``), a
``Resources`` section of at most 500 typed resources, references that resolve, and resources that can be
ordered. Each failure is a ``ValidationError`` (HTTP 400)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from moto.cloudformation.exceptions import ValidationError

from awspatterns.sandbox.cloudformation.dependencies import (
    PSEUDO_PARAMETERS,
    depends_on,
    references,
    unorderable,
)

__all__ = [
    "MAX_RESOURCES",
    "TEMPLATE_BODY_MAX_BYTES",
    "TEMPLATE_URL_MAX_BYTES",
    "check_body_size",
    "check_template",
    "check_url_size",
    "parse_template",
]

#: The largest ``TemplateBody`` a request may carry.
TEMPLATE_BODY_MAX_BYTES = 51_200
#: The largest template read from S3 through ``TemplateURL`` ("1 MB": AWS's error names 1,000,000 bytes).
TEMPLATE_URL_MAX_BYTES = 1_000_000
#: The most resources a template may declare.
MAX_RESOURCES = 500


def check_body_size(body: str) -> None:
    """Refuse a ``TemplateBody`` over the request limit, as the API's input validation does."""
    if len(body.encode()) > TEMPLATE_BODY_MAX_BYTES:
        raise ValidationError(
            message=f"1 validation error detected: Value '{body}' at 'templateBody' failed to satisfy constraint: "
            f"Member must have length less than or equal to {TEMPLATE_BODY_MAX_BYTES}"
        )


def check_url_size(template: str) -> None:
    """Refuse a template read from S3 that is over the ``TemplateURL`` limit."""
    if len(template.encode()) > TEMPLATE_URL_MAX_BYTES:
        raise ValidationError(message=f"Template may not exceed {TEMPLATE_URL_MAX_BYTES} bytes in size.")


class _TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML with CloudFormation's short forms: ``!Ref X`` is ``{"Ref": "X"}``, ``!GetAtt A.B.C`` is
    ``{"Fn::GetAtt": ["A", "B.C"]}``, ``!Sub``, ``!If`` and the others ``{"Fn::...": ...}``."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {key: value}


_TemplateLoader.add_multi_constructor("!", _short_form)


def parse_template(template: str | dict[str, Any]) -> dict[str, Any]:
    """The template as a mapping, checked (see :func:`check_template`). As CloudFormation does, the text is read as
    JSON first and as YAML if it is not JSON; a text that is neither is reported in the terms of the format it looks
    like (a template starting with ``{`` is meant as JSON)."""
    if isinstance(template, dict):
        return check_template(template)
    try:
        parsed = json.loads(template)
    except json.JSONDecodeError as json_error:
        try:
            parsed = yaml.load(template, Loader=_TemplateLoader)  # noqa: S506 (a safe loader with CloudFormation's tags)
        except yaml.YAMLError as yaml_error:
            if template.lstrip().startswith("{"):
                where = f"line {json_error.lineno}, column {json_error.colno}"
                raise ValidationError(message=f"Template format error: JSON not well-formed. ({where})") from None
            mark = getattr(yaml_error, "problem_mark", None) or getattr(yaml_error, "context_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise ValidationError(message=f"Template format error: YAML not well-formed.{where}") from None
    return check_template(parsed)


def check_template(template: Any) -> dict[str, Any]:
    """Refuse what CloudFormation refuses before creating anything; return the template."""
    if not isinstance(template, dict):
        raise ValidationError(message="Template format error: unsupported structure.")
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise ValidationError(message="Template format error: At least one Resources member must be defined.")
    if len(resources) > MAX_RESOURCES:
        raise ValidationError(
            message=f"Template format error: Number of resources, {len(resources)}, is greater than maximum "
            f"allowed, {MAX_RESOURCES}"
        )
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            raise ValidationError(
                message=f"Template format error: [/Resources/{logical_id}] Every Resources member must be an object."
            )
        if not isinstance(resource.get("Type"), str):
            raise ValidationError(
                message=f"Template format error: [/Resources/{logical_id}] Every Resources object must contain a "
                "Type member."
            )
    if "Transform" not in template:  # a macro adds resources the sandbox cannot know: AWS checks after expanding
        _check_references(template, resources)
        cycle = unorderable(resources)
        if cycle:
            raise ValidationError(message=f"Circular dependency between resources: [{', '.join(cycle)}]")
    return template


def _check_references(template: dict[str, Any], resources: dict[str, Any]) -> None:
    """Every ``Fn::GetAtt`` names a resource; every ``Ref`` and ``${...}`` a resource, a parameter or a pseudo
    parameter; every ``DependsOn`` a resource. Resources are checked before outputs."""
    parameters = template.get("Parameters")
    values = set(resources) | set(parameters if isinstance(parameters, dict) else ()) | PSEUDO_PARAMETERS
    outputs = template.get("Outputs")
    blocks = {
        "Resources": (
            references([resource.get("Properties", {}) for resource in resources.values()]),
            set().union(*(depends_on(resource) for resource in resources.values())),
        ),
        "Outputs": (references(list(outputs.values()) if isinstance(outputs, dict) else []), set()),
    }
    for block, (found, dependencies) in blocks.items():
        undefined = sorted(found.attributes - set(resources))
        if undefined:
            raise ValidationError(
                message=f"Template error: instance of Fn::GetAtt references undefined resource {undefined[0]}"
            )
        unresolved = sorted((found.values - values) | (dependencies - set(resources)))
        if unresolved:
            raise ValidationError(
                message=f"Template format error: Unresolved resource dependencies [{', '.join(unresolved)}] in the "
                f"{block} block of the template"
            )
