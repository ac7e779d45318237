"""Change sets as ``cdk deploy`` and ``cdk bootstrap`` use them: a CREATE change set creates its stack exactly as
``CreateStack`` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cloudformation.exceptions import ValidationError

__all__ = ["execute_change_set"]


def execute_change_set(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``CloudFormationBackend.execute_change_set`` so a CREATE change set (what ``cdk deploy`` and
    ``cdk bootstrap`` send) creates the stack exactly as ``create_stack`` does: parameters resolved, resources
    in order, outputs and exports recorded, a failure rolled back. moto's own path skipped outputs and exports,
    and looked a change set up by name alone, though names are per stack (``cdk deploy`` uses one name for all)."""

    def execute(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = backend.change_sets.get(change_set_name) or next(
            (
                candidate
                for candidate in backend.change_sets.values()
                if candidate.change_set_name == change_set_name and stack_name in (None, candidate.stack_name)
            ),
            None,
        )
        if change_set is None:
            raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")
        if change_set.change_set_type != "CREATE":
            original(backend, change_set_name, stack_name)
            return
        stack = backend.stacks[change_set.stack_id]
        stack.template = change_set.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = change_set.parameters
        stack.cross_stack_resources = backend.exports
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
        change_set.execution_status = "EXECUTE_COMPLETE"
        if stack.status == "CREATE_COMPLETE":
            backend._validate_export_uniqueness(stack)
            for export in stack.exports:
                backend.exports[export.name] = export

    return execute
