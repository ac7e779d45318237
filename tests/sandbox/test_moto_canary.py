"""Canaries: the moto internals the sandbox relies on. When a pin moves, these fail first and say what moved."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
from moto.apigateway import models as apigateway_models
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import parsing
from moto.cloudformation.custom_model import CustomModel
from moto.core.common_models import CloudFormationModel
from moto.core.responses import BaseResponse
from moto.iam.models import AccessKey, IAMBackend
from moto.s3.responses import S3Response
from moto.sqs.models import Queue
from moto.sts.models import AssumedRole

from awspatterns.sandbox import engine
from awspatterns.sandbox.cloudformation import apigateway, custom_resources, registry, resources
from awspatterns.sandbox.rds import cloudformation as rds_cloudformation

ADDED_MODULES = (*resources.MODULES, rds_cloudformation)


def test_moto_is_the_pinned_version():
    assert version("moto") == "5.2.5", "the sandbox patches moto internals: re-check every canary before moving the pin"


@pytest.mark.parametrize("owner, attribute", engine.PATCHED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_patched_internal_exists(owner, attribute):
    assert hasattr(owner, attribute), f"moto no longer has {owner.__name__}.{attribute}"


def test_lambda_invoke_signatures_are_what_the_engine_replaces():
    assert list(inspect.signature(LambdaFunction.invoke).parameters) == [
        "self",
        "body",
        "request_headers",
        "response_headers",
    ]
    assert list(inspect.signature(LambdaFunction._invoke_lambda).parameters) == ["self", "event"]


def test_moto_still_lacks_the_cloudformation_types_the_sandbox_adds():
    native = {
        model.cloudformation_type()
        for model in CloudFormationModel.__subclasses__()
        if model.__module__ not in {m.__name__ for m in ADDED_MODULES}
    }
    added = {model.cloudformation_type() for module in ADDED_MODULES for model in module.MODELS}
    assert not native & added, f"moto now implements {native & added}: drop the sandbox's own model"


def test_moto_sqs_queues_still_fire_event_sources_from_a_dict_the_engine_empties():
    assert "lambda_event_source_mappings" in inspect.getsource(Queue.add_message)


def test_custom_model_is_what_moto_uses_for_custom_resources():
    assert parsing.resource_class_from_type("Custom::Anything") is CustomModel
    assert "ServiceToken" in inspect.getsource(CustomModel.create_from_cloudformation_json)


def test_moto_still_skips_unknown_types_silently_without_the_sandbox():
    source = inspect.getsource(parsing.resource_class_from_type)
    assert "No Moto CloudFormation support" in source


def test_resource_map_keeps_the_instance_state_dependency_ordered_deletion_reads():
    source = inspect.getsource(parsing.ResourceMap)
    assert "self._resource_json_map" in source and "self._parsed_resources" in source


@pytest.mark.parametrize("model, attribute", registry.REF_VALUES.items(), ids=lambda v: getattr(v, "__name__", v))
def test_models_whose_ref_the_sandbox_supplies_still_lack_one_and_keep_the_value(model, attribute):
    assert not hasattr(model, "physical_resource_id"), f"moto now gives {model.__name__} a Ref value of its own"
    assert f"self.{attribute}" in inspect.getsource(model) or attribute in dict(inspect.getmembers(model))


def test_moto_method_creation_still_drops_what_the_sandbox_restores():
    source = inspect.getsource(apigateway_models.Method.create_from_cloudformation_json)
    assert "AuthorizerId" not in source and "RequestTemplates" not in source and "IntegrationResponses" not in source
    assert "identiy_validation_expression" in inspect.getsource(apigateway_models.APIGatewayBackend.create_authorizer)


@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")  # pgserver's import, on a machine with no login session
def test_pgserver_still_ships_the_binaries_and_helper_the_sandbox_uses():
    assert version("pgserver") == "0.1.4", "the sandbox uses pgserver internals: re-check them before moving the pin"
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_user_exists

    assert all((POSTGRES_BIN_PATH / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres"))
    assert callable(ensure_user_exists)


@pytest.mark.parametrize(
    "owner, attribute",
    (*apigateway.ADDED, *custom_resources.ADDED),
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_what_the_sandbox_adds_to_moto_is_still_missing_there(owner, attribute):
    assert not hasattr(owner, attribute), f"moto now has {owner.__name__}.{attribute}: drop the sandbox's own"


def test_moto_s3_handlers_are_still_called_after_parsing_with_the_request_the_presigned_checks_read():
    for handler in (S3Response._bucket_response, S3Response._key_response):
        assert list(inspect.signature(handler).parameters) == ["self", "request", "full_url"]
    for name in ("bucket_response", "key_response"):
        source = inspect.getsource(getattr(S3Response, name))
        assert source.index("self.setup_class(request)") < source.index(f"self._{name}(request, full_url)")
    setup = inspect.getsource(BaseResponse.setup_class)
    assert (
        "self.form_data = request.form" in setup and "request.files" in setup and "self.raw_body = self.body" in setup
    )


def test_moto_still_checks_neither_presigned_urls_nor_post_policies():
    source = inspect.getsource(S3Response)
    assert "X-Amz-Expires" not in source and "Request has expired" not in source, "moto checks presigned expiry now"
    assert "content-length-range" not in source and "Policy expired" not in source, "moto checks POST policies now"


def test_moto_keeps_the_secrets_the_presigned_checks_verify_with():
    assert "self.access_keys: dict[str, AccessKey] = {}" in inspect.getsource(IAMBackend.__init__)
    key_init = inspect.getsource(AccessKey.__init__)
    assert all(f"self.{name} =" in key_init for name in ("secret_access_key", "status", "user_name"))
    role_init = inspect.getsource(AssumedRole.__init__)
    assert all(f"self.{name} =" in role_init for name in ("secret_access_key", "session_token", "expiration"))
