"""``PythonFunction(shared_code=...)``: folders written once ship in a function's asset as top-level packages, and
the asset's hash follows their contents as it follows the function's own code."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from awspatterns.blocks import PythonFunction
from awspatterns.blocks.functions import with_shared_code
from awspatterns.shared_handlers import ITEMS_API


@pytest.fixture
def code(tmp_path: Path) -> tuple[Path, Path]:
    own = tmp_path / "handlers"
    (own / "fn").mkdir(parents=True)
    (own / "fn" / "index.py").write_text("from shared.util import answer\n")
    shared = tmp_path / "lib" / "shared"
    shared.mkdir(parents=True)
    (shared / "__init__.py").write_text("")
    (shared / "util.py").write_text("answer = 42\n")
    (shared / "__pycache__").mkdir()
    (shared / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\0")
    return own, shared


def asset_hash(code_dir: Path, shared: list[Path]) -> str:
    stack = cdk.Stack(cdk.App(), "Shared")
    PythonFunction(stack, "Fn", code_dir=code_dir, shared_code=shared, handler="fn.index.handler", description="d")
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    return str(function["Properties"]["Code"]["S3Key"])


def test_the_asset_holds_the_functions_code_and_each_shared_folder_by_its_name(code):
    own, shared = code
    staged = with_shared_code(own, [shared])
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == ["fn/index.py", "shared/__init__.py", "shared/util.py"]  # no caches
    assert (staged / "shared" / "util.py").read_text() == "answer = 42\n"
    assert with_shared_code(own, []) == own  # nothing shared: the folder itself, as before


def test_the_asset_hash_changes_when_a_shared_file_changes_and_only_then(code):
    own, shared = code
    first = asset_hash(own, [shared])
    assert asset_hash(own, [shared]) == first  # deterministic across synths
    (shared / "util.py").write_text("answer = 43\n")
    changed = asset_hash(own, [shared])
    assert changed != first
    (own / "fn" / "index.py").write_text("# changed\n")
    assert asset_hash(own, [shared]) not in {first, changed}


def test_a_shared_folder_may_not_overwrite_the_functions_own_code(code):
    own, shared = code
    (own / "shared").mkdir()
    with pytest.raises(ValueError, match="would overwrite it"):
        with_shared_code(own, [shared])


def test_the_items_api_is_a_package_the_functions_import_by_its_plain_name():
    assert sorted(p.name for p in ITEMS_API.glob("*.py")) == ["__init__.py", "api.py", "repository.py", "schema.py"]
    assert "from .repository import" in (ITEMS_API / "api.py").read_text()  # the same module, however imported
