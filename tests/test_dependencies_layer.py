"""The DependenciesLayer block: a layer built from a hash-pinned requirements file, once, for the functions' runtime
and the local Python; and the pins of every such file agree with requirements.lock."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import assertions

from awspatterns.blocks import DependenciesLayer, dependencies
from awspatterns.blocks.dependencies import CACHE_ENV, LayerBuildError, build_layer

ROOT = Path(__file__).resolve().parents[1]
JWT_REQUIREMENTS = ROOT / "src/awspatterns/blocks/jwt_authorizer_handler/requirements.txt"
PSYCOPG_REQUIREMENTS = ROOT / "examples/api-postgres-vpc/handlers/requirements.txt"
LOCAL = f"cpython-{sys.version_info.major}{sys.version_info.minor}-x86_64-linux-gnu"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def layer_requirements() -> list[Path]:
    """Every hash-pinned requirements file a DependenciesLayer is built from (compiled from a ``.in`` beside it)."""
    found = [
        path.with_suffix(".txt") for folder in ("src", "examples", "tests") for path in (ROOT / folder).rglob("*.in")
    ]
    return sorted(path for path in found if path.is_file())


def pins(text: str) -> dict[str, str]:
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN.findall(text)}


def names(archive: Path) -> set[str]:
    with zipfile.ZipFile(archive) as layer:
        return set(layer.namelist())


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "layers"))
    return tmp_path / "layers"


def test_the_block_is_a_layer_for_the_functions_runtime_removed_with_its_stack():
    stack = cdk.Stack(cdk.App(), "Layered")
    DependenciesLayer(stack, "Jwt", requirements=JWT_REQUIREMENTS)
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    template.has_resource(
        "AWS::Lambda::LayerVersion",
        {
            "Properties": {"CompatibleRuntimes": ["python3.14"], "CompatibleArchitectures": ["x86_64"]},
            "DeletionPolicy": "Delete",
        },
    )


def test_the_layer_holds_the_packages_for_the_runtime_and_for_the_local_python():
    content = names(build_layer(JWT_REQUIREMENTS))
    assert {"python/jwt/__init__.py", "python/cryptography/__init__.py"} <= content
    assert "python/_cffi_backend.cpython-314-x86_64-linux-gnu.so" in content  # cffi has no abi3 wheel
    assert f"python/_cffi_backend.{LOCAL}.so" in content
    assert not any("__pycache__" in name for name in content)


def test_a_psycopg_layer_holds_both_builds_and_imports_with_nothing_else_on_the_path():
    archive = build_layer(PSYCOPG_REQUIREMENTS)
    content = names(archive)
    assert "python/psycopg_binary/_psycopg.cpython-314-x86_64-linux-gnu.so" in content
    assert f"python/psycopg_binary/_psycopg.{LOCAL}.so" in content
    script = "import psycopg; print(psycopg.pq.__impl__, psycopg.__file__)"
    # -S: no site-packages, so only the standard library and the layer can provide anything
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(archive.parent / 'python')!r}); {script}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    implementation, location = result.stdout.split()
    assert implementation == "binary" and location.startswith(str(archive.parent))


def test_a_cached_layer_is_not_built_again(fresh_cache, monkeypatch):
    first = build_layer(JWT_REQUIREMENTS)
    assert first.is_relative_to(fresh_cache)
    calls = []
    monkeypatch.setattr(dependencies, "_install", lambda *args: calls.append(args))
    assert build_layer(JWT_REQUIREMENTS) == first
    stack = cdk.Stack(cdk.App(), "Again")
    DependenciesLayer(stack, "Jwt", requirements=JWT_REQUIREMENTS)
    assert calls == []


def test_concurrent_builds_of_one_layer_agree_and_leave_nothing_behind(fresh_cache):
    # separate processes, as pytest-xdist workers synthesising the same app would be
    script = "from pathlib import Path; from awspatterns.blocks.dependencies import build_layer; "
    script += f"print(build_layer(Path({str(JWT_REQUIREMENTS)!r})))"
    builders = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    results = [Path(builder.communicate(timeout=300)[0].strip()) for builder in builders]
    assert [builder.returncode for builder in builders] == [0, 0, 0]
    assert len(set(results)) == 1
    assert [path.name for path in fresh_cache.iterdir()] == [results[0].parent.name]
    with zipfile.ZipFile(results[0]) as layer:
        assert layer.testzip() is None


def test_a_requirements_file_that_cannot_be_installed_is_named_in_the_error(fresh_cache, tmp_path):
    unhashed = tmp_path / "requirements.txt"
    unhashed.write_text("pyjwt==2.15.1\n")  # --require-hashes refuses a pin without its hashes
    with pytest.raises(LayerBuildError, match=re.escape(str(unhashed))):
        build_layer(unhashed)
    assert not list(fresh_cache.iterdir())  # nothing half-built is kept


def test_layer_pins_match_the_lock_so_the_tests_run_what_ships():
    locked = pins((ROOT / "requirements.lock").read_text())
    files = layer_requirements()
    assert JWT_REQUIREMENTS in files and PSYCOPG_REQUIREMENTS in files
    for requirements in files:
        for name, version in pins(requirements.read_text()).items():
            assert locked.get(name) == version, f"{requirements}: {name}=={version}, the lock has {locked.get(name)}"
