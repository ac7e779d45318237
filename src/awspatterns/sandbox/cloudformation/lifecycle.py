"""How the sandbox's CloudFormation runs a stack's life: templates refused before anything is created, with
CloudFormation's messages (``templates``, wired by ``validation``), creation that rolls back and says why (and
leaves no outputs), deletion in dependency order that leaves a failed stack in ``DELETE_FAILED``, deletion refused
while another stack imports an export (``exports``), and CREATE change sets (what ``cdk deploy`` sends) that create
the stack as ``CreateStack`` does."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from moto.cloudformation import models as cfn_models_module
from moto.cloudformation import parsing

from awspatterns.sandbox.cloudformation import (
    deletion,
    exports,
    role_policies,
    ssm_parameters,
    stack_outputs,
    validation,
)
from awspatterns.sandbox.cloudformation.change_sets import execute_change_set
from awspatterns.sandbox.cloudformation.deletion import delete_in_dependency_order
from awspatterns.sandbox.cloudformation.templates import parse_template
from awspatterns.sandbox.errors import SandboxUnsupported
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

log = logging.getLogger("awspatterns.sandbox.cloudformation")

__all__ = ["PATCHED", "READS", "install", "parse_and_create_resource_strict"]

#: The moto internals this module replaces, wraps or calls (checked by the canary tests).
#: What deletion reads of moto's stack state (declared where it is read).
READS = deletion.READS
PATCHED: Patched = (
    (parsing, "parse_and_create_resource"),
    (parsing.ResourceMap, "delete"),
    (parsing.ResourceMap, "_delete_resource"),
    (cfn_models_module.Stack, "create_resources"),
    (cfn_models_module.Stack, "parse_template"),
    (cfn_models_module.Stack, "delete"),
    (cfn_models_module.Stack, "_create_resource_map"),
    (cfn_models_module.Stack, "_create_output_map"),
    (cfn_models_module.CloudFormationBackend, "execute_change_set"),
    (cfn_models_module.CloudFormationBackend, "delete_stack"),
    (cfn_models_module.CloudFormationBackend, "_validate_export_uniqueness"),
    *validation.PATCHED,
    *ssm_parameters.PATCHED,
    *role_policies.PATCHED,
    *stack_outputs.PATCHED,
)


def parse_and_create_resource_strict(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap moto's resource creation so an unsupported type fails the stack instead of being skipped."""

    def create(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        resource_type = resource_json["Type"]
        supported = (
            resource_type.startswith("Custom::")
            or resource_type == "AWS::CloudFormation::CustomResource"
            or resource_type in parsing.NULL_MODELS
            or resource_type in parsing.get_model_map()
        )
        if not supported:
            raise SandboxUnsupported(
                f"resource {logical_id} has type {resource_type}, which the sandbox cannot create; "
                "deploy this pattern with --target aws, or add a model for it to awspatterns.sandbox.cloudformation"
            )
        return original(logical_id, resource_json, resources_map, account_id, region_name)

    return create


def install(engine: Engine) -> None:
    """A template CloudFormation would refuse is a ValidationError before anything is created; a stack that fails
    rolls back and says why; deletion goes in dependency order and, when it fails, leaves the stack in
    DELETE_FAILED; a CREATE change set creates the stack as CreateStack does."""
    original_create = cfn_models_module.Stack.create_resources
    original_delete = cfn_models_module.Stack.delete
    replace(parsing, "parse_and_create_resource", parse_and_create_resource_strict(parsing.parse_and_create_resource))
    replace(parsing.ResourceMap, "delete", delete_in_dependency_order)

    def create_resources(stack: Any) -> None:
        try:
            original_create(stack)
            stack.outputs  # noqa: B018 (resolved now, as CloudFormation does: an output that cannot be fails the stack)
        except Exception as error:
            reason = str(error) if isinstance(error, SandboxUnsupported) else f"{type(error).__name__}: {error}"
            log.warning("stack %s failed: %s", stack.name, reason)
            stack.status = "CREATE_FAILED"
            stack._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
            # A rolled-back stack has no outputs; left in place, describing them would create what they name.
            stack.output_map = parsing.OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)
            try:
                delete_in_dependency_order(stack.resource_map)
                stack.status = "ROLLBACK_COMPLETE"
            except Exception as rollback_error:
                stack.status = "ROLLBACK_FAILED"
                reason = f"{reason}; rollback failed: {rollback_error}"
            stack._add_stack_event(stack.status, resource_status_reason=reason)

    def delete(stack: Any) -> None:
        try:
            original_delete(stack)
        except Exception as error:
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=str(error))
            raise

    replace(cfn_models_module.Stack, "create_resources", create_resources)
    replace(cfn_models_module.Stack, "parse_template", staticmethod(parse_template))  # checked as AWS does
    validation.install()
    ssm_parameters.install()
    role_policies.install()
    stack_outputs.install()
    replace(cfn_models_module.Stack, "delete", delete)
    original_delete_stack = cfn_models_module.CloudFormationBackend.delete_stack

    def delete_stack(backend: Any, name_or_stack_id: str) -> None:
        """A deletion that fails leaves the stack in DELETE_FAILED, visible, and the call succeeds (moto
        answered HTTP 500 and forgot the stack); so does one refused because another stack imports an export."""
        targets = [s for s in backend.stacks.values() if name_or_stack_id in (s.stack_id, s.name)]
        for stack in targets:
            refusal = exports.in_use_message(backend, stack)
            if refusal is not None:
                stack.status = "DELETE_FAILED"
                stack._add_stack_event("DELETE_FAILED", resource_status_reason=refusal)
                return
        try:
            original_delete_stack(backend, name_or_stack_id)
        except Exception:
            for stack in targets:
                backend.stacks[stack.stack_id] = stack
                backend.deleted_stacks.pop(stack.stack_id, None)

    replace(cfn_models_module.CloudFormationBackend, "delete_stack", delete_stack)
    replace(
        cfn_models_module.CloudFormationBackend,
        "execute_change_set",
        execute_change_set(cfn_models_module.CloudFormationBackend.execute_change_set),
    )
