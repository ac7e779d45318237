"""Custom resources run synchronously, with CloudFormation's conventions: Lambda-backed ones through the sandbox
runtime (the function answers on a local stand-in for the pre-signed ResponseURL), and CDK's Node.js providers
through native handlers (see ``native_resources``).

moto 5.2.5 passed JSON scalars (CDK's handlers expect strings), ignored ``FAILED``, and never sent ``Delete``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.cloudformation.custom_model import CustomModel

from awspatterns.sandbox.cloudformation.native_resources import NATIVE_HANDLERS, NativeHandler
from awspatterns.sandbox.listeners import refuse_foreign_host
from awspatterns.sandbox.patching import add, replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "CustomResourceFailed", "CustomResources", "install", "stringify"]

#: What this module replaces in moto (``CustomModel.delete`` it adds; the canary tests check moto lacks it).
PATCHED: Patched = ((CustomModel, "create_from_cloudformation_json"),)
ADDED: Patched = ((CustomModel, "delete"),)


class CustomResourceFailed(Exception):
    """A custom resource answered FAILED, or its function failed without answering."""


class ResponseCollector:
    """A local HTTP endpoint that plays CloudFormation's pre-signed ResponseURL for custom resources."""

    def __init__(self) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                if refuse_foreign_host(self):
                    return
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

    def busy(self) -> bool:
        """Requests run inside the stack operation: never busy in the background."""
        return False

    def shutdown(self) -> None:
        """Stop the response endpoint."""
        self.collector.shutdown()

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


def install(engine: Engine) -> None:
    """Run custom resources through the engine's runtime, CDK's Node.js providers through native handlers."""
    custom_resources = CustomResources(engine.invoke_function, NATIVE_HANDLERS)
    engine.add_component(custom_resources)

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        model: Any = CustomModel(region_name, str(uuid.uuid4()), kwargs["LogicalId"], resource_name)  # type: ignore[abstract]
        model.account_id = account_id
        model.stack_id = kwargs["StackId"]
        model.resource_type = kwargs["ResourceType"]
        model.physical_id = f"{kwargs['LogicalId']}-{uuid.uuid4().hex[:12]}"
        model.properties = cloudformation_json["Properties"]
        response = custom_resources.request("Create", model, model.properties, account_id, region_name)
        model.physical_id = response.get("PhysicalResourceId") or model.physical_id
        model.resource_name = model.physical_id
        model.set_data(response.get("Data") or {})
        return model

    def delete(self: Any, account_id: str, region_name: str) -> None:
        custom_resources.request("Delete", self, self.properties, account_id, region_name)

    replace(CustomModel, "create_from_cloudformation_json", classmethod(create))
    add(CustomModel, "delete", delete)
