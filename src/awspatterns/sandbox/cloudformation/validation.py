"""Where moto is made to check templates as CloudFormation does (the checks are in
:mod:`awspatterns.sandbox.cloudformation.templates`): the request limit on ``TemplateBody`` and the limit on a
template read through ``TemplateURL`` in every call that takes a template, and the template checks in
``UpdateStack`` and ``CreateChangeSet`` before moto creates or changes anything (``CreateStack`` checks through the
template parser that ``lifecycle`` installs). A refused template leaves no stack behind.

``ValidateTemplate`` makes the same checks, and only those, as CloudFormation's does: moto ran cfn-lint instead,
whose warnings refused valid templates (with the lint message in place of a stack name)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from moto.cloudformation import models, responses

from awspatterns.sandbox.cloudformation.templates import check_body_size, check_url_size, parse_template
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Patched

__all__ = ["PATCHED", "install"]

#: The API actions that take a template.
_TEMPLATE_ACTIONS = ("create_stack", "update_stack", "create_change_set", "validate_template")

#: The backend methods that get the template checks before moto's own code runs.
_CHECKED_METHODS = ("update_stack", "create_change_set")

#: The moto internals this module wraps (checked by the canary tests).
PATCHED: Patched = (
    *((responses.CloudFormationResponse, action) for action in _TEMPLATE_ACTIONS),
    (responses.CloudFormationResponse, "_get_stack_from_s3_url"),
    *((models.CloudFormationBackend, method) for method in _CHECKED_METHODS),
    (models.CloudFormationBackend, "validate_template"),
)


def _body_within_limit(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checked(response: Any) -> Any:
        body = response._get_param("TemplateBody")
        if body:
            check_body_size(body)
        return action(response)

    return checked


def _url_within_limit(read: Callable[[Any, str], str]) -> Callable[[Any, str], str]:
    def checked(response: Any, template_url: str) -> str:
        template = read(response, template_url)
        check_url_size(template)
        return template

    return checked


def _template_checked(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    def checked(*args: Any, **kwargs: Any) -> Any:
        template = signature.bind(*args, **kwargs).arguments.get("template")
        if template:
            parse_template(template)
        return method(*args, **kwargs)

    return checked


def _validate_template(backend: Any, template: str) -> list[Any]:
    """Replacement of ``CloudFormationBackend.validate_template``: the checks, and no lint findings."""
    parse_template(template)
    return []


def install() -> None:
    """Wrap the template-taking actions and backend methods (``lifecycle.install`` calls this)."""
    response_class, backend_class = responses.CloudFormationResponse, models.CloudFormationBackend
    for action in _TEMPLATE_ACTIONS:
        replace(response_class, action, _body_within_limit(getattr(response_class, action)))
    replace(response_class, "_get_stack_from_s3_url", _url_within_limit(response_class._get_stack_from_s3_url))
    for method in _CHECKED_METHODS:
        replace(backend_class, method, _template_checked(getattr(backend_class, method)))
    replace(backend_class, "validate_template", _validate_template)
