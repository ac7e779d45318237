"""Exports in use: CloudFormation refuses to delete a stack while another stack imports one of its exports.

moto 5.2.5 resolves ``Fn::ImportValue`` but deletes an exporting stack whatever imports it, which hides the main
cost of exports: the exporting stack cannot be replaced while a consumer is deployed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["imported_names", "in_use_message"]

#: Stack states whose imports no longer hold an export.
GONE = ("DELETE_COMPLETE", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS")


def imported_names(node: Any) -> set[str]:
    """The export names a template imports with a literal ``Fn::ImportValue`` (what the CDK writes)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::ImportValue"} and isinstance(node["Fn::ImportValue"], str):
            return {node["Fn::ImportValue"]}
        return set().union(*(imported_names(value) for value in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(imported_names(value) for value in node)) if node else set()
    return set()


def in_use_message(backend: Any, stack: Any) -> str | None:
    """CloudFormation's reason for refusing to delete ``stack`` (``Export <name> cannot be deleted as it is in use
    by <stacks>``), or ``None`` when no other live stack imports its exports."""
    exported = {export.name for export in stack.exports}
    importers: dict[str, list[str]] = {}
    for other in backend.stacks.values():
        if other is not stack and other.status not in GONE:
            for name in imported_names(other.template_dict) & exported:
                importers.setdefault(name, []).append(other.name)
    if not importers:
        return None
    name = min(importers)
    return f"Export {name} cannot be deleted as it is in use by {', '.join(sorted(importers[name]))}"
