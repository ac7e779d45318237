"""A function imports only what Lambda would give it: the standard library, the runtime's AWS SDK (boto3 and its
dependencies), its own code, its layers, and for the Powertools public layer what that layer is built with. Whatever
else the sandbox's interpreter has installed (PyJWT, this project, ...) fails as it fails in Lambda."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lambda_code import create_function

from awspatterns.blocks.dependencies import build_layer
from awspatterns.sandbox.runtime import import_guard
from awspatterns.sandbox.runtime.import_policy import allowed_modules

POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-x86_64:27"
IMPORTS = """
import importlib, sys

def handler(event, context):
    module = importlib.import_module(event["module"])
    loaded = sorted({name.partition(".")[0] for name in sys.modules} - set(sys.stdlib_module_names))
    return {"file": getattr(module, "__file__", None), "loaded": loaded}
"""


def invoke(account: Any, name: str, module: str) -> tuple[bool, dict[str, Any]]:
    """Invoke an ``IMPORTS`` function; whether it failed, and its payload."""
    response = account.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"module": module}))
    return "FunctionError" in response, json.loads(response["Payload"].read())


def importer(account: Any, name: str, source: str = IMPORTS, **extra: Any) -> str:
    create_function(account, name, source, **extra)
    return name


def publish_layer(account: Any, files: dict[str, str], name: str = "vendored") -> str:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    lam = account.client("lambda")
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": layer.getvalue()})["LayerVersionArn"]  # type: ignore[no-any-return]


def test_a_package_only_the_sandbox_has_fails_the_init_as_in_lambda_with_the_reason(account):
    create_function(account, "needs-jwt", "import jwt\ndef handler(event, context):\n    return jwt.__version__\n")
    response = account.client("lambda").invoke(FunctionName="needs-jwt")
    payload = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"].startswith("Unable to import module 'index': No module named 'jwt'")
    assert "package it with the function or in a layer" in payload["errorMessage"]


def test_the_function_sees_the_runtimes_sdk_and_nothing_else_installed(account):
    importer(account, "sdk")
    for module in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3", "json", "sqlite3"):
        failed, payload = invoke(account, "sdk", module)
        assert not failed, payload
    for module in ("jwt", "pydantic", "aws_lambda_powertools", "awspatterns", "moto", "psycopg", "yaml"):
        failed, payload = invoke(account, "sdk", module)
        # Not there at all, as in Lambda: the same error as for a module that exists nowhere
        assert failed and payload["errorType"] == "ModuleNotFoundError", (module, payload)
        assert payload["errorMessage"] == f"No module named '{module}'"
    failed, payload = invoke(account, "sdk", "no_such_module_anywhere")
    assert failed and payload["errorMessage"] == "No module named 'no_such_module_anywhere'"


def test_a_hidden_package_is_not_found_rather_than_refused(account):
    # Code that probes for an optional package (find_spec, pkgutil) must see "absent", as in Lambda, not an error
    source = "import importlib.util\ndef handler(event, context):\n"
    source += "    return [importlib.util.find_spec(name) is None for name in ('yaml', 'pydantic', 'json', 'boto3')]\n"
    create_function(account, "probes", source)
    response = account.client("lambda").invoke(FunctionName="probes")
    assert json.loads(response["Payload"].read()) == [True, True, False, False]


@pytest.mark.parametrize(("runtime", "refused"), [("python3.14", True), ("python3.11", False)])
def test_standard_library_modules_the_runtime_version_removed_are_refused_with_the_reason(account, runtime, refused):
    name = f"distutils-{runtime.replace('.', '')}"
    create_function(account, name, "import distutils\ndef handler(event, context):\n    return 1\n", runtime=runtime)
    response = account.client("lambda").invoke(FunctionName=name)
    payload = json.loads(response["Payload"].read())
    assert ("FunctionError" in response) is refused, payload
    if refused:
        assert payload["errorMessage"].startswith("Unable to import module 'index': No module named 'distutils'")
        assert "removed from the standard library in Python 3.12" in payload["errorMessage"]


def test_standard_library_modules_that_are_not_listed_as_such_still_import(account):
    # sysconfig imports _sysconfigdata_<platform> on demand; sys.stdlib_module_names does not list it
    source = "import importlib, sysconfig\ndef handler(event, context):\n"
    source += "    return importlib.import_module(sysconfig._get_sysconfigdata_name()).__name__\n"
    create_function(account, "sysconfig", source)
    response = account.client("lambda").invoke(FunctionName="sysconfig")
    assert "FunctionError" not in response, response["Payload"].read()


def test_nothing_the_worker_imported_for_itself_leaks_to_the_function(account):
    importer(account, "leaks")
    failed, payload = invoke(account, "leaks", "json")
    assert not failed, payload
    assert set(payload["loaded"]) <= allowed_modules() | {"index", "__main__"}


def test_a_package_in_a_layer_is_imported_from_the_layer(account):
    layer = publish_layer(account, {"python/jwt/__init__.py": "SOURCE = 'layer'\n"})
    source = "import jwt\ndef handler(event, context):\n    return [jwt.SOURCE, jwt.__file__]\n"
    create_function(account, "jwt-in-layer", source, Layers=[layer])
    response = account.client("lambda").invoke(FunctionName="jwt-in-layer")
    assert "FunctionError" not in response
    source_name, path = json.loads(response["Payload"].read())
    assert source_name == "layer" and "/layers/" in path


def test_a_package_in_the_functions_own_code_is_imported(account):
    source = "import os, pathlib\npathlib.Path('/tmp').exists()\n" + IMPORTS
    importer(account, "own-code", source)
    failed, payload = invoke(account, "own-code", "index")
    assert not failed, payload


def stack_function(account: Any, name: str, layers: list[str]) -> None:
    """A function created by CloudFormation, which (unlike CreateFunction in moto) accepts public layers' ARNs."""
    role = create_function(account, f"{name}-unused", "def handler(event, context):\n    return 1\n")
    role_arn = account.client("lambda").get_function(FunctionName=role)["Configuration"]["Role"]
    properties = {"FunctionName": name, "Runtime": "python3.11", "Handler": "index.handler", "Role": role_arn}
    properties |= {"Code": {"ZipFile": IMPORTS}, "Layers": layers}
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": properties}}}
    account.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_powertools_and_its_extras_come_with_its_public_layer_only(account):
    stack_function(account, "with-powertools", [POWERTOOLS_LAYER.format(region=account.region_name)])
    importer(account, "without-powertools")
    for module in ("aws_lambda_powertools", "pydantic", "aws_xray_sdk", "typing_extensions"):
        failed, payload = invoke(account, "with-powertools", module)
        assert not failed, (module, payload)
        failed, payload = invoke(account, "without-powertools", module)
        assert failed and payload["errorType"] == "ModuleNotFoundError", (module, payload)
    # Not the packages later releases added to the installed Powertools' [all] (PyJWT, pydantic-settings)
    for module in ("awspatterns", "jwt", "pydantic_settings"):
        failed, payload = invoke(account, "with-powertools", module)
        assert failed and payload["errorType"] == "ModuleNotFoundError", (module, payload)


def test_the_guard_drops_modules_imported_before_it_and_refuses_them_again():
    script = (
        "import importlib.util, sys\n"
        "import jwt, boto3\n"
        f"spec = importlib.util.spec_from_file_location('guard', {import_guard.__file__!r})\n"
        "guard = importlib.util.module_from_spec(spec); spec.loader.exec_module(guard)\n"
        "guard.install(['boto3', 'botocore', 'jmespath', 's3transfer', 'dateutil', 'six', 'urllib3'], [], 'py')\n"
        "assert 'jwt' not in sys.modules and 'boto3' in sys.modules\n"
        "try:\n    import jwt\nexcept ModuleNotFoundError as error:\n    print(error.name)\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "jwt\n"


def test_a_compiled_package_from_a_dependencies_layer_imports_in_a_function(account):
    # psycopg-binary has no abi3 wheel: the layer carries the runtime's build and the local Python's (DependenciesLayer)
    archive = build_layer(Path(__file__).parents[2] / "examples" / "api-postgres-vpc" / "handlers" / "requirements.txt")
    lam = account.client("lambda")
    layer = lam.publish_layer_version(LayerName="psycopg", Content={"ZipFile": archive.read_bytes()})
    source = "import psycopg\ndef handler(event, context):\n    return [psycopg.pq.__impl__, psycopg.__file__]\n"
    create_function(account, "uses-psycopg", source, Layers=[layer["LayerVersionArn"]])
    response = lam.invoke(FunctionName="uses-psycopg")
    assert "FunctionError" not in response, response["Payload"].read()
    implementation, location = json.loads(response["Payload"].read())
    assert implementation == "binary" and "/layers/" in location
    create_function(account, "psycopg-without-layer", source)
    assert "FunctionError" in lam.invoke(FunctionName="psycopg-without-layer")
