"""API Gateway (REST) resource types as CDK synthesizes them, kept complete in moto's backend.

moto 5.2.5 skips ``Stage``, ``Authorizer``, ``Account``, ``RequestValidator``, ``Model`` and ``GatewayResponse``,
and its ``Method`` drops the authorizer, validator, request models and parameters, mapping templates and
integration responses. The local gateway (:mod:`awspatterns.sandbox.gateway`) serves what is in moto's backend,
so everything a pattern's API declares must arrive there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from moto.apigateway import models as apigateway_models
from moto.apigateway.models import apigateway_backends
from moto.core.common_models import CloudFormationModel

from awspatterns.sandbox.cloudformation.base import SandboxModel, cfn_bool
from awspatterns.sandbox.patching import add, replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = [
    "ADDED",
    "MODELS",
    "PATCHED",
    "ApiGatewayAccount",
    "ApiGatewayAuthorizer",
    "ApiGatewayGatewayResponse",
    "ApiGatewayModel",
    "ApiGatewayRequestValidator",
    "ApiGatewayStage",
    "create_method",
    "install",
    "method_settings",
]

#: The moto internals this module replaces (checked by the canary tests).
PATCHED: Patched = ((apigateway_models.Method, "create_from_cloudformation_json"),)

#: Added to moto's RestAPI, which a stack deletion left behind.
ADDED: Patched = ((apigateway_models.RestAPI, "delete"),)


#: ``MethodSetting`` properties and their names in a stage's ``methodSettings`` (``GetStage``).
_METHOD_SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "ThrottlingRateLimit": ("throttlingRateLimit", float),
    "ThrottlingBurstLimit": ("throttlingBurstLimit", int),
    "LoggingLevel": ("loggingLevel", str),
    "MetricsEnabled": ("metricsEnabled", cfn_bool),
    "DataTraceEnabled": ("dataTraceEnabled", cfn_bool),
    "CachingEnabled": ("cachingEnabled", cfn_bool),
}


def method_settings(settings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A stage's ``MethodSettings`` as ``GetStage`` returns them: keyed ``~1orders/POST`` (``*/*`` for all)."""
    result: dict[str, dict[str, Any]] = {}
    for setting in settings:
        path = str(setting.get("ResourcePath", "/*"))
        # CloudFormation's paths are already encoded: "/*" for every resource, "/~1orders" for /orders.
        key = path.removeprefix("/") + "/" + str(setting.get("HttpMethod", "*"))
        entry = result.setdefault(key, {})
        for name, (field, convert) in _METHOD_SETTINGS.items():
            if setting.get(name) is not None:
                entry[field] = convert(setting[name])
    return result


def _backend(account_id: str, region_name: str) -> Any:
    return apigateway_backends[account_id][region_name]


class ApiGatewayStage(SandboxModel, CloudFormationModel):
    """``AWS::ApiGateway::Stage``: a named stage pointing at a deployment, with its variables."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayStage:
        properties = cloudformation_json["Properties"]
        stage = _backend(account_id, region_name).create_stage(
            properties["RestApiId"],
            properties["StageName"],
            properties["DeploymentId"],
            variables=properties.get("Variables") or {},
            description=properties.get("Description", ""),
            tracing_enabled=properties.get("TracingEnabled"),
        )
        stage.method_settings.update(method_settings(properties.get("MethodSettings") or []))
        return cls(stage.name, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the API may have gone first
            _backend(self.account_id, self.region_name).delete_stage(
                self.properties["RestApiId"], self.physical_resource_id
            )


class ApiGatewayAuthorizer(SandboxModel, CloudFormationModel):
    """``AWS::ApiGateway::Authorizer``: TOKEN, REQUEST or Cognito authorizers, ``Ref`` is the authorizer id."""

    ATTRIBUTES = ("AuthorizerId",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Authorizer"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayAuthorizer:
        properties = cloudformation_json["Properties"]
        ttl = properties.get("AuthorizerResultTtlInSeconds")
        authorizer = _backend(account_id, region_name).create_authorizer(
            properties["RestApiId"],
            properties.get("Name") or kwargs.get("LogicalId", resource_name),
            properties["Type"],
            provider_arns=properties.get("ProviderARNs"),
            auth_type=properties.get("AuthType"),
            authorizer_uri=properties.get("AuthorizerUri"),
            authorizer_credentials=properties.get("AuthorizerCredentials"),
            identity_source=properties.get("IdentitySource"),
            authorizer_result_ttl=300 if ttl is None else int(ttl),  # CloudFormation's default
        )
        # moto misspells this keyword and loses the value; set it on the model directly.
        authorizer.identity_validation_expression = properties.get("IdentityValidationExpression")
        return cls(authorizer.id, properties, account_id, region_name)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    def _delete(self) -> None:
        with contextlib.suppress(Exception):
            _backend(self.account_id, self.region_name).delete_authorizer(
                self.properties["RestApiId"], self.physical_resource_id
            )


class ApiGatewayRequestValidator(SandboxModel, CloudFormationModel):
    """``AWS::ApiGateway::RequestValidator``: which parts of a request the gateway validates."""

    ATTRIBUTES = ("RequestValidatorId",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::RequestValidator"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayRequestValidator:
        properties = cloudformation_json["Properties"]
        validator = _backend(account_id, region_name).create_request_validator(
            properties["RestApiId"],
            properties.get("Name") or resource_name,
            cfn_bool(properties.get("ValidateRequestBody")),
            cfn_bool(properties.get("ValidateRequestParameters")),
        )
        return cls(validator.id, properties, account_id, region_name)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    def _delete(self) -> None:
        with contextlib.suppress(Exception):
            _backend(self.account_id, self.region_name).delete_request_validator(
                self.properties["RestApiId"], self.physical_resource_id
            )


class ApiGatewayModel(SandboxModel, CloudFormationModel):
    """``AWS::ApiGateway::Model``: a JSON schema for request validation; ``Ref`` is the model name."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Model"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayModel:
        properties = cloudformation_json["Properties"]
        schema = properties.get("Schema") or {}
        name = properties.get("Name") or resource_name
        _backend(account_id, region_name).create_model(
            properties["RestApiId"],
            name,
            properties.get("ContentType", "application/json"),
            properties.get("Description", ""),
            schema if isinstance(schema, str) else json.dumps(schema),
        )
        return cls(name, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):
            _backend(self.account_id, self.region_name).delete_model(
                self.properties["RestApiId"], self.physical_resource_id
            )


class ApiGatewayGatewayResponse(SandboxModel, CloudFormationModel):
    """``AWS::ApiGateway::GatewayResponse``: the status, headers and body of the gateway's own errors."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::GatewayResponse"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayGatewayResponse:
        properties = cloudformation_json["Properties"]
        _backend(account_id, region_name).put_gateway_response(
            properties["RestApiId"],
            properties["ResponseType"],
            properties.get("StatusCode"),
            properties.get("ResponseParameters"),
            properties.get("ResponseTemplates"),
        )
        return cls(f"{properties['RestApiId']}-{properties['ResponseType']}", properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):
            _backend(self.account_id, self.region_name).delete_gateway_response(
                self.properties["RestApiId"], self.properties["ResponseType"]
            )


class ApiGatewayAccount(SandboxModel, CloudFormationModel):
    """``AWS::ApiGateway::Account``: the role API Gateway logs to CloudWatch with (recorded, nothing else)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Account"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayAccount:
        properties = cloudformation_json.get("Properties", {})
        if role := properties.get("CloudWatchRoleArn"):
            _backend(account_id, region_name).update_account(
                [{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}]
            )
        return cls(f"apigateway-account-{account_id}", properties, account_id, region_name)

    def _delete(self) -> None:
        pass


MODELS = (
    ApiGatewayStage,
    ApiGatewayAuthorizer,
    ApiGatewayRequestValidator,
    ApiGatewayModel,
    ApiGatewayGatewayResponse,
    ApiGatewayAccount,
)


def create_method(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """``AWS::ApiGateway::Method`` with everything CDK declares: authorizer, validator, request models and
    parameters, the integration's templates and parameters, integration responses and method responses."""
    properties = cloudformation_json["Properties"]
    backend = _backend(account_id, region_name)
    api_id, resource_id, http_method = properties["RestApiId"], properties["ResourceId"], properties["HttpMethod"]
    method = backend.put_method(
        function_id=api_id,
        resource_id=resource_id,
        method_type=http_method,
        authorization_type=properties.get("AuthorizationType", "NONE"),
        api_key_required=cfn_bool(properties.get("ApiKeyRequired")),
        request_parameters={k: cfn_bool(v) for k, v in (properties.get("RequestParameters") or {}).items()},
        request_models=properties.get("RequestModels"),
        operation_name=properties.get("OperationName"),
        authorizer_id=properties.get("AuthorizerId"),
        authorization_scopes=properties.get("AuthorizationScopes"),
        request_validator_id=properties.get("RequestValidatorId"),
    )
    integration = properties.get("Integration")
    if integration:
        backend.put_integration(
            function_id=api_id,
            resource_id=resource_id,
            method_type=http_method,
            integration_type=integration["Type"],
            uri=integration.get("Uri", ""),
            integration_method=integration.get("IntegrationHttpMethod", http_method),
            credentials=integration.get("Credentials"),
            request_templates=integration.get("RequestTemplates"),
            passthrough_behavior=integration.get("PassthroughBehavior", "WHEN_NO_MATCH"),
            timeout_in_millis=integration.get("TimeoutInMillis"),
            request_parameters=integration.get("RequestParameters"),
            content_handling=integration.get("ContentHandling"),
        )
        for response in integration.get("IntegrationResponses") or []:
            backend.put_integration_response(
                function_id=api_id,
                resource_id=resource_id,
                method_type=http_method,
                status_code=str(response["StatusCode"]),
                selection_pattern=response.get("SelectionPattern"),
                response_templates=response.get("ResponseTemplates"),
                response_parameters=response.get("ResponseParameters"),
                content_handling=response.get("ContentHandling"),
            )
    for response in properties.get("MethodResponses") or []:
        backend.put_method_response(
            function_id=api_id,
            resource_id=resource_id,
            method_type=http_method,
            response_code=str(response["StatusCode"]),
            response_models=response.get("ResponseModels"),
            response_parameters=response.get("ResponseParameters"),
        )
    return method


def _delete_rest_api(api: Any, account_id: str, region_name: str) -> None:
    _backend(account_id, region_name).delete_rest_api(api.id)


def install(engine: Engine) -> None:
    """Replace moto's lossy ``Method`` creation; let a stack deletion delete its REST API."""
    replace(apigateway_models.Method, "create_from_cloudformation_json", classmethod(create_method))
    add(apigateway_models.RestAPI, "delete", _delete_rest_api)
