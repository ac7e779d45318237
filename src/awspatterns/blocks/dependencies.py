"""A Lambda layer of third-party Python packages, installed from a hash-pinned requirements file.

Lambda's Python runtime provides the standard library and boto3 only, and the Powertools layer adds its own extras;
a function that imports anything else (PyJWT, psycopg, ...) needs it in its package or a layer, or it fails with
``Runtime.ImportModuleError``. The sandbox enforces the same rule (see "What a function can import" in
docs/sandbox.md), so the layer built here is what makes such a function run in both places.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from awspatterns.blocks.runtime import PYTHON_RUNTIME

__all__ = [
    "CACHE_ENV",
    "LAYER_PLATFORM",
    "TARGET_PYTHON",
    "DependenciesLayer",
    "LayerBuildError",
    "build_layer",
    "layer_cache",
]

#: The environment variable that moves the cache of built layers (default ``~/.cache/awspatterns/layers``).
CACHE_ENV = "AWSPATTERNS_LAYER_CACHE"
#: The platform the functions run on (x86_64, Amazon Linux 2023): wheels tagged manylinux2014 to manylinux_2_28.
LAYER_PLATFORM = "x86_64-manylinux_2_28"
#: Bumped when the layout of a built layer changes, so older cache entries are not reused.
_FORMAT = 1


class LayerBuildError(RuntimeError):
    """The packages of a requirements file could not be installed (offline, a missing hash, no wheel)."""


def layer_cache() -> Path:
    """Where built layers are kept, outside the repository (``$AWSPATTERNS_LAYER_CACHE`` overrides it)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "awspatterns" / "layers"


#: The functions' Python version ("3.14"), read once: jsii objects must not be used from several threads.
TARGET_PYTHON = PYTHON_RUNTIME.name.removeprefix("python")


def _local_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise LayerBuildError("uv is needed to build dependency layers (`make setup` installs it in .venv)")
    return found


def _install(requirements: Path, target: Path, interpreter_options: list[str]) -> None:
    command = [_uv(), "pip", "install", "--no-config", "--quiet", "--target", str(target), "--only-binary", ":all:"]
    command += [*interpreter_options, "--require-hashes", "-r", str(requirements)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise LayerBuildError(f"could not install the packages of {requirements}: {detail}")


def _copy_if_absent(source: str, destination: str) -> object:
    if not os.path.exists(destination):  # noqa: PTH110 (shutil.copytree passes strings)
        shutil.copy2(source, destination)
    return destination


def _zip(folder: Path, archive: Path) -> None:
    """A reproducible zip of ``folder`` under ``python/`` (sorted entries, fixed times), as the layer's content."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as output:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(f"python/{path.relative_to(folder).as_posix()}", (1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                output.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)


def build_layer(requirements: Path) -> Path:
    """The layer's zip for ``requirements``, built once and then taken from the cache.

    The packages are installed for the functions' runtime (``PYTHON_RUNTIME``, x86_64 Linux, binary wheels only,
    every file's hash checked); when the local Python is another version, its own wheels are installed into the
    same folder too, since the sandbox runs functions on the local Python: packages without an abi3 wheel (such as
    psycopg-binary or cffi) then hold both builds of their compiled extensions, whose file names carry the version
    (``_psycopg.cpython-314-x86_64-linux-gnu.so`` beside ``...cpython-311...``). The cache key covers the
    requirements' text, the target Python and platform, and the local Python. Concurrent builds are safe: each
    builds in a folder of its own, renamed into place at once.

    Returns:
        ``<cache>/<key>/layer.zip``; the unpacked packages are beside it, in ``python/``.

    Raises:
        LayerBuildError: the packages could not be installed; the message names the requirements file.
    """
    text = requirements.read_text()
    local = f"{sys.implementation.cache_tag}-{platform.machine()}"
    key_source = json.dumps([_FORMAT, text, TARGET_PYTHON, LAYER_PLATFORM, local])
    key = hashlib.sha256(key_source.encode()).hexdigest()[:32]
    cache = layer_cache()
    built = cache / key
    if (built / "layer.zip").is_file():
        return built / "layer.zip"
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f".{key}.{uuid.uuid4().hex}"
    try:
        packages = staging / "python"
        _install(
            requirements,
            packages,
            ["--python-version", TARGET_PYTHON, "--python-platform", LAYER_PLATFORM],
        )
        if _local_python() != TARGET_PYTHON:
            _install(requirements, staging / "local", ["--python", sys.executable])
            shutil.copytree(staging / "local", packages, dirs_exist_ok=True, copy_function=_copy_if_absent)
            shutil.rmtree(staging / "local")
        _zip(packages, staging / "layer.zip")
        try:
            staging.rename(built)
        except OSError:  # another process built it first
            if not (built / "layer.zip").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return built / "layer.zip"


# --8<-- [start:layer]
class DependenciesLayer(lambda_.LayerVersion):
    """A layer holding the packages pinned (with hashes) in a requirements file, for the catalog's runtime.

    Attach it to a function (``function.add_layers(layer)``) whose code imports something neither the Python
    runtime (standard library, boto3) nor the Powertools layer provides. The requirements file is compiled from a
    small ``requirements.in`` with uv, against ``requirements.lock`` so the layer ships the versions the tests run
    (docs/contributing.md, "Dependency layers"). It is built at synth time with :func:`build_layer` and cached, so
    repeated synths cost nothing; it also carries the local Python's builds of compiled packages, so the sandbox,
    which runs functions on the local Python, can import them too.

    Args:
        scope: the parent construct.
        construct_id: the layer's id.
        requirements: the hash-pinned requirements file (``uv pip compile --generate-hashes`` output).
        description: shown in the console; by default it names the requirements file.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, requirements: Path, description: str | None = None
    ) -> None:
        archive = build_layer(requirements)
        super().__init__(
            scope,
            construct_id,
            code=lambda_.Code.from_asset(str(archive), asset_hash=archive.parent.name),
            compatible_runtimes=[PYTHON_RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description=description or f"Python packages of {requirements.parent.name}/{requirements.name}",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )


# --8<-- [end:layer]
