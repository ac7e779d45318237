"""CloudFormation behaviour the sandbox adds to moto: clear failures, dependency-ordered deletion and custom
resources that run synchronously with CloudFormation's own conventions."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.exceptions import ValidationError

from awspatterns.sandbox.cfn_deletion import DELETERS
from awspatterns.sandbox.patching import add, replace

#: Custom resource types whose CDK provider functions run on Node.js; the sandbox implements their effect.
NativeHandler = Callable[[str, dict[str, Any], str, str], dict[str, Any]]


class SandboxUnsupported(Exception):
    """A template uses something the sandbox cannot honour."""


class CustomResourceFailed(Exception):
    """A custom resource answered FAILED, or its function failed without answering."""


# ------------------------------------------------------------------ dependency order
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


def delete_in_dependency_order(resource_map: Any) -> None:
    """Replacement of ``ResourceMap.delete``: dependents first, as CloudFormation does; a failure names the
    resource and stops the deletion (the stack is then DELETE_FAILED)."""
    for logical_id in reversed(creation_order(resource_map._resource_json_map)):
        resource_json = resource_map._resource_json_map[logical_id]
        if resource_json.get("DeletionPolicy") == "Retain":
            continue
        parsed = resource_map._parsed_resources.get(logical_id)
        if parsed is None or isinstance(parsed, str):
            continue
        try:
            deleter = DELETERS.get(resource_json["Type"])
            if deleter is not None:
                deleter(parsed, resource_map._account_id, resource_map._region_name)
            else:
                resource_map._delete_resource(parsed, resource_json)
        except Exception as error:
            raise SandboxUnsupported(f"could not delete {logical_id} ({resource_json['Type']}): {error}") from error
        resource_map._parsed_resources.pop(logical_id)


# ------------------------------------------------------------------ unsupported types
def parse_and_create_resource_strict(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap moto's resource creation so an unsupported type fails the stack instead of being skipped."""

    def create(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        resource_type = resource_json["Type"]
        supported = (
            resource_type.startswith("Custom::")
            or resource_type == "AWS::CloudFormation::CustomResource"
            or resource_type in parsing.NULL_MODELS
            or resource_type in parsing.get_model_map()
        )
        if not supported:
            raise SandboxUnsupported(
                f"resource {logical_id} has type {resource_type}, which the sandbox cannot create; "
                "deploy this pattern with --target aws, or add the type to awspatterns.sandbox.cfn_models"
            )
        return original(logical_id, resource_json, resources_map, account_id, region_name)

    return create


# ------------------------------------------------------------------ change sets
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


# ------------------------------------------------------------------ custom resources
class ResponseCollector:
    """A local HTTP endpoint that plays CloudFormation's pre-signed ResponseURL for custom resources."""

    def __init__(self) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    collector.responses[self.path.rsplit("/", 1)[-1]] = json.loads(body)
                    self.send_response(200)
                except ValueError:
                    self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cfn-response"
        threading.Thread(target=self._server.serve_forever, name="cfn-responses", daemon=True).start()

    def shutdown(self) -> None:
        """Stop the endpoint."""
        self._server.shutdown()


def stringify(value: Any) -> Any:
    """CloudFormation passes every scalar property of a custom resource as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    return value


class CustomResources:
    """Runs custom resources synchronously: Lambda-backed ones through the sandbox runtime, and CDK's Node.js
    providers (which need the AWS SDK of the real Node.js runtime) through native handlers."""

    def __init__(self, invoke: Callable[[str, str, str, str], Any], native: dict[str, NativeHandler]) -> None:
        self._invoke = invoke
        self._native = native
        self.collector = ResponseCollector()

    def request(
        self,
        request_type: str,
        model: Any,
        properties: dict[str, Any],
        account_id: str,
        region_name: str,
        old_properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one lifecycle request and return the response (Status, PhysicalResourceId, Data)."""
        if model.resource_type in self._native:
            data = self._native[model.resource_type](request_type, stringify(properties), account_id, region_name)
            return {"Status": "SUCCESS", "PhysicalResourceId": model.physical_id, "Data": data}
        request_id = str(uuid.uuid4())
        event = {
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": f"{self.collector.url}/{request_id}",
            "StackId": model.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": model.logical_id,
            "ResourceType": model.resource_type,
            "ResourceProperties": stringify(properties),
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = model.physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = stringify(old_properties)
        result = self._invoke(account_id, region_name, properties["ServiceToken"], json.dumps(event))
        response = self.collector.responses.pop(request_id, None)
        if response is None:
            detail = result.error.get("errorMessage") if result.error else "it returned without responding"
            raise CustomResourceFailed(
                f"custom resource {model.logical_id} ({model.resource_type}) sent no response to CloudFormation: "
                f"{detail}"
            )
        if response.get("Status") != "SUCCESS":
            raise CustomResourceFailed(
                f"custom resource {model.logical_id} ({model.resource_type}) failed: {response.get('Reason')}"
            )
        return response


_custom_resources: CustomResources | None = None


def install_custom_resources(custom_resources: CustomResources) -> None:
    """Make moto's CustomModel create and delete through ``custom_resources``."""
    global _custom_resources
    _custom_resources = custom_resources

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        assert _custom_resources is not None
        model: Any = CustomModel(region_name, str(uuid.uuid4()), kwargs["LogicalId"], resource_name)  # type: ignore[abstract]
        model.account_id = account_id
        model.stack_id = kwargs["StackId"]
        model.resource_type = kwargs["ResourceType"]
        model.physical_id = f"{kwargs['LogicalId']}-{uuid.uuid4().hex[:12]}"
        model.properties = cloudformation_json["Properties"]
        response = _custom_resources.request("Create", model, model.properties, account_id, region_name)
        model.physical_id = response.get("PhysicalResourceId") or model.physical_id
        model.resource_name = model.physical_id
        model.set_data(response.get("Data") or {})
        return model

    def delete(self: Any, account_id: str, region_name: str) -> None:
        assert _custom_resources is not None
        _custom_resources.request("Delete", self, self.properties, account_id, region_name)

    replace(CustomModel, "create_from_cloudformation_json", classmethod(create))
    add(CustomModel, "delete", delete)
