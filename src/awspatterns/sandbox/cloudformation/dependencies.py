"""The order of a template's resources: each after the resources it references (``Ref``, ``Fn::GetAtt``,
``Fn::Sub``) or names in ``DependsOn``, as CloudFormation creates them (and deletes them in reverse); and what a
template names that it does not define, or cannot order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PSEUDO_PARAMETERS",
    "References",
    "creation_order",
    "depends_on",
    "references",
    "template_dependencies",
    "unorderable",
]

#: The names every template may ``Ref`` without declaring them.
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

#: ``${Name}`` or ``${Resource.Attribute}`` in an ``Fn::Sub`` string; ``${!Literal}`` is not a reference.
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


@dataclass
class References:
    """The names a part of a template uses: as values (``Ref``, ``${Name}``) and as resources whose attributes it
    reads (``Fn::GetAtt``, ``${Resource.Attribute}``)."""

    values: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)

    @property
    def names(self) -> set[str]:
        """Every name used, either way."""
        return self.values | self.attributes


def references(node: Any) -> References:
    """The names a template fragment uses (an ``Fn::Sub``'s own variables are not references)."""
    found = References()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.values.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) and value else value
                if isinstance(target, str):
                    found.attributes.add(target.split(".")[0])
                walk(value[1:] if isinstance(value, list) else [])
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (value, {})
                local = set(variables) if isinstance(variables, dict) else set()
                if isinstance(text, str):
                    for name in (m.strip() for m in _SUB_VARIABLE.findall(text)):
                        resource, dot, _ = name.partition(".")
                        if name not in local and resource not in local:
                            (found.attributes if dot else found.values).add(resource if dot else name)
                else:
                    walk(text)
                walk(variables)
            else:
                walk(value)

    walk(node)
    return found


def depends_on(resource: dict[str, Any]) -> set[str]:
    """The logical ids a resource names in ``DependsOn``."""
    names = resource.get("DependsOn", [])
    return {names} if isinstance(names, str) else {n for n in names if isinstance(n, str)}


def template_dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """For each logical id, the logical ids it depends on (DependsOn, Ref, Fn::GetAtt, Fn::Sub)."""
    return {
        logical_id: (depends_on(resource) | references(resource.get("Properties", {})).names) & set(resources)
        for logical_id, resource in resources.items()
    }


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


def unorderable(resources: dict[str, Any]) -> list[str]:
    """The resources no creation order can place, in template order: those in a dependency cycle and those that
    depend on one (what CloudFormation names in "Circular dependency between resources"). Empty when the
    template can be created."""
    waiting = template_dependencies(resources)
    created: set[str] = set()
    while ready := [logical_id for logical_id, needs in waiting.items() if needs <= created]:
        created.update(ready)
        for logical_id in ready:
            del waiting[logical_id]
    return [logical_id for logical_id in resources if logical_id in waiting]
