"""Which installed packages a function may import: what Lambda's Python runtime and its layers would give it.

Lambda's Python runtime holds the standard library and the AWS SDK (boto3 and the packages it depends on); a
function gets anything else only from its own code or its layers. The sandbox runs functions on its own
interpreter, where far more is installed, so the worker hides everything else (``import_guard``). The names here
are top-level module names, computed once per process from the installed distributions' metadata: the dependency
closure of ``boto3`` for the runtime, and of ``aws-lambda-powertools`` with its layer's extras (:data:`POWERTOOLS`)
for the Powertools public layer, which the sandbox provides from its own install.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import metadata

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement

__all__ = ["POWERTOOLS", "RUNTIME_SDK", "allowed_modules", "distribution_closure", "modules_of"]

#: The distribution Lambda's Python runtime bundles, with its dependencies.
RUNTIME_SDK = "boto3"
#: The name ``layers.provided_layer_names`` gives the Powertools public layer, the distribution it is built from,
#: and the extras whose packages it is allowed to provide: those of the features the Powertools documentation lists
#: for it (tracer, parser, validation, data masking). Not the installed release's whole ``[all]``, which grew
#: after the pinned layer version (PyJWT, pydantic-settings): erring this way, a package the sandbox refuses may
#: be in the real layer, but one it allows is there.
POWERTOOLS = ("powertools", "aws-lambda-powertools", ("parser", "tracer", "validation", "datamasking"))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> Iterable[str]:
    """The names of the distributions ``dist`` needs on this interpreter, with ``extras`` (and no other)."""
    for line in dist.requires or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker: Marker | None = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
            yield requirement.name


def distribution_closure(root: str, extras: Iterable[str] = ()) -> frozenset[str]:
    """``root`` and every installed distribution it depends on (with ``extras`` on the root only), canonical names.
    A dependency that is not installed here is left out: the sandbox cannot provide it anyway."""
    seen: set[str] = set()
    pending = [(root, frozenset(extras))]
    while pending:
        name, wanted = pending.pop()
        if _canonical(name) in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(_canonical(name))
        pending += [(requirement, frozenset()) for requirement in _requirements(dist, wanted)]
    return frozenset(seen)


@cache
def _modules_of_distribution(name: str) -> frozenset[str]:
    """The top-level modules one installed distribution provides, as ``metadata.packages_distributions`` finds
    them (its ``top_level.txt``, else the first part of the paths of its ``.py`` files), without reading the file
    lists of every other distribution installed."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return frozenset()
    declared = (dist.read_text("top_level.txt") or "").split()
    if declared:
        return frozenset(declared)
    return frozenset(
        file.parts[0] if len(file.parts) > 1 else file.with_suffix("").name
        for file in dist.files or ()
        if file.suffix == ".py"
    )


def modules_of(distributions: Iterable[str]) -> frozenset[str]:
    """The top-level modules the given installed distributions provide."""
    return frozenset().union(*(_modules_of_distribution(_canonical(name)) for name in distributions))


@cache
def allowed_modules(provided_layers: tuple[str, ...] = ()) -> frozenset[str]:
    """The installed top-level modules a function may import besides the standard library, its code and its
    unpacked layers: the runtime's AWS SDK, and the packages of the provided public layers it names."""
    allowed = modules_of(distribution_closure(RUNTIME_SDK))
    layer, distribution, extras = POWERTOOLS
    if layer in provided_layers:
        allowed |= modules_of(distribution_closure(distribution, extras))
    return allowed
