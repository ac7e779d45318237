"""The order of a template's resources: each after the resources it references (``Ref``, ``Fn::GetAtt``,
``Fn::Sub``) or names in ``DependsOn``, as CloudFormation creates them (and deletes them in reverse)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["creation_order", "template_dependencies"]


def template_dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """For each logical id, the logical ids it depends on (DependsOn, Ref, Fn::GetAtt, Fn::Sub)."""

    def references(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "Fn::GetAtt":
                    target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                    found.add(target)
                elif key == "Fn::Sub":
                    text = value[0] if isinstance(value, list) else value
                    found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                    if isinstance(value, list):
                        found |= references(value[1])
                else:
                    found |= references(value)
        elif isinstance(node, list):
            for item in node:
                found |= references(item)
        return found

    graph = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        graph[logical_id] = (set(depends_on) | references(resource.get("Properties", {}))) & set(resources)
    return graph


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids with every resource after the ones it depends on."""
    graph = template_dependencies(resources)
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered or logical_id in visiting:
            return
        visiting.add(logical_id)
        for dependency in sorted(graph[logical_id]):
            visit(dependency)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered
