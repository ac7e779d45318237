"""A function's layers, laid out as Lambda lays out ``/opt`` for Python: each layer's ``python`` and
``python/lib/pythonX.Y/site-packages`` folders on the import path, after the function's own code.

A layer comes from the Lambda backend of the account and region in its ARN (``PublishLayerVersion`` or
``AWS::Lambda::LayerVersion``); the Powertools public layer is provided by the sandbox's own installed package.
Any other layer cannot be provided (nothing is downloaded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moto.awslambda.utils import get_backend

from awspatterns.sandbox.runtime.packages import unpack

__all__ = ["PROVIDED_LAYERS", "layer_paths", "provided_layer_names", "unavailable_layers"]

#: Public layers the sandbox provides from its own installed packages, and the name ``import_policy`` knows each by.
_PROVIDED_NAMES = {":layer:AWSLambdaPowertoolsPython": "powertools"}
PROVIDED_LAYERS = tuple(_PROVIDED_NAMES)


def _layer_version(arn: str) -> Any:
    """The layer version an ARN names, from its own account's and region's backend, or None (``runtime.functions``
    lists ``LambdaBackend.layers_versions_by_arn`` among the moto internals it relies on)."""
    parts = arn.split(":")
    if len(parts) != 8 or parts[5] != "layer":
        return None
    return get_backend(parts[4], parts[3]).layers_versions_by_arn(arn)


def _provided(arn: str) -> bool:
    return any(name in arn for name in PROVIDED_LAYERS)


def provided_layer_names(arns: list[str]) -> tuple[str, ...]:
    """The names of the provided public layers among ``arns`` (their packages come from the sandbox's install)."""
    return tuple(sorted({name for arn in arns for marker, name in _PROVIDED_NAMES.items() if marker in arn}))


def unavailable_layers(arns: list[str]) -> list[str]:
    """The layers among ``arns`` the sandbox can neither unpack nor provide."""
    return [arn for arn in arns if not _provided(arn) and _layer_version(arn) is None]


def layer_paths(arns: list[str], runtime: str, layers_dir: Path) -> tuple[str, ...]:
    """The import path entries for a function's layers, each unpacked under ``layers_dir``; later layers come
    first, since in ``/opt`` their files overwrite earlier layers'."""
    paths: list[str] = []
    for arn in reversed(arns):
        if _provided(arn):
            continue
        layer = _layer_version(arn)
        if layer is not None:
            root = unpack(layer.code_bytes, layers_dir, layer.code_sha_256)
            paths += [str(root / "python" / "lib" / runtime / "site-packages"), str(root / "python")]
    return tuple(paths)
