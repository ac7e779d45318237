"""Canaries: the moto internals the sandbox relies on. When a pin moves, these fail first and say what moved."""

from __future__ import annotations

import inspect
import math
from importlib.metadata import version

import pytest
from moto.apigateway import models as apigateway_models
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import parsing
from moto.cloudformation.custom_model import CustomModel
from moto.core.common_models import CloudFormationModel
from moto.sqs.models import Queue

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


# ------------------------------------------------------------------ IAM enforcement (awspatterns.sandbox.iam)
def test_moto_access_keys_encode_their_account_as_the_sandbox_decodes_it():
    from moto.iam.utils import generate_access_key_id_from_account_id

    from awspatterns.sandbox.iam.principals import account_of_key

    for account in ("123456789012", "111111111111", "000000000007", "499999999999"):
        for prefix in ("AKIA", "ASIA"):
            assert account_of_key(generate_access_key_id_from_account_id(account, prefix, 20)) == account


def test_moto_keeps_its_own_access_control_off_so_the_sandbox_evaluates_instead():
    from moto import settings

    assert math.inf == settings.INITIAL_NO_AUTH_ACTION_COUNT


def test_call_action_is_where_moto_authorizes_and_then_runs_the_operation():
    from moto.core.responses import BaseResponse

    source = inspect.getsource(BaseResponse.call_action)
    assert source.index("_authenticate_and_authorize_normal_action") < source.index("response = method()")
    assert "return None" in inspect.getsource(BaseResponse._get_action_from_method_and_request_uri)


def test_s3_handlers_authorize_through_the_mixin_with_bucket_and_key_and_catch_its_denial():
    from moto.s3.responses import S3Response

    source = inspect.getsource(S3Response)
    assert source.count("self._authenticate_and_authorize_s3_action(") >= 10
    assert "key_name=key_name" in source
    assert "except BucketAccessDeniedError:" in inspect.getsource(S3Response._bucket_response_post)
    assert "except S3ClientError as s3error:" in inspect.getsource(S3Response.key_response)


def test_iam_and_sts_keep_keys_sessions_and_policies_where_the_sandbox_reads_them():
    import json

    import boto3
    from moto import mock_aws
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="u")
        user_key = iam.create_access_key(UserName="u")["AccessKey"]["AccessKeyId"]
        role_arn = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        document = json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        )
        iam.put_role_policy(RoleName="r", PolicyName="inline", PolicyDocument=document)
        managed = iam.create_policy(PolicyName="m", PolicyDocument=document)["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="r", PolicyArn=managed)
        session = boto3.client("sts", region_name="us-east-1").assume_role(RoleArn=role_arn, RoleSessionName="sess")
        role_key = session["Credentials"]["AccessKeyId"]

        backend = iam_backends["123456789012"]["aws"]
        assert backend.access_keys[user_key].user_name == "u"
        assert backend.access_keys[role_key].role_arn == role_arn
        assumed = [r for r in sts_backends["123456789012"]["aws"].assumed_roles if r.access_key_id == role_key]
        assert [r.session_name for r in assumed] == ["sess"]
        role = next(r for r in backend.roles.values() if r.arn == role_arn)
        assert backend.roles[role.id] is role and backend.users["u"].name == "u"
        assert role.policies == {"inline": document}
        assert [v.document for v in role.managed_policies[managed].versions if v.is_default] == [document]


def test_moto_still_leaves_out_aws_managed_policies_and_cloudformation_managed_policy_arns():
    import json

    from moto.iam import aws_managed_policies
    from moto.iam.models import Role
    from moto.settings import load_iam_aws_managed_policies

    assert not load_iam_aws_managed_policies()
    assert "ManagedPolicyArns" not in inspect.getsource(Role.create_from_cloudformation_json)
    assert not hasattr(Role, "delete"), "CloudFormation now deletes roles without delete_from_cloudformation_json"
    shipped = json.loads(aws_managed_policies.aws_managed_policies_data)
    for name in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"):
        assert shipped[name]["Path"] == "/service-role/" and shipped[name]["Document"]["Statement"]


def test_the_formats_the_sandbox_reads_resources_from():
    from moto.dynamodbstreams.models import ShardIterator
    from moto.kinesis import utils as kinesis_utils
    from moto.kms import utils as kms_utils

    assert "/stream/{self.stream_shard.table.latest_stream_label}|1|" in inspect.getsource(ShardIterator)
    shard = type("Shard", (), {"shard_id": "shardId-000"})()
    assert kinesis_utils.decompose_shard_iterator(kinesis_utils.compose_shard_iterator("s", shard, 1))[0] == "s"
    blob = kms_utils._serialize_ciphertext_blob(
        kms_utils.Ciphertext(key_id="k" * 36, iv=b"i" * 12, ciphertext=b"c", tag=b"t" * 16)
    )
    assert kms_utils._deserialize_ciphertext_blob(blob).key_id == "k" * 36


def test_moto_requests_carry_what_the_sandbox_reads_of_them():
    from moto.core.responses import BaseResponse

    source = inspect.getsource(BaseResponse.setup_class)
    for attribute in ("self.raw_path", "self.querystring", "self.method", "self.region", "self.current_account"):
        assert f"{attribute} =" in source, attribute
    assert "self.headers" in source


def test_iam_groups_keep_their_users_and_policies_where_the_sandbox_reads_them():
    import json

    import boto3
    from moto import mock_aws
    from moto.iam.models import iam_backends

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="u")
        iam.create_group(GroupName="g")
        iam.add_user_to_group(GroupName="g", UserName="u")
        document = json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        )
        iam.put_group_policy(GroupName="g", PolicyName="inline", PolicyDocument=document)
        backend = iam_backends["123456789012"]["aws"]
        group = backend.groups["g"]
        assert backend.users["u"] in group.users and group.policies == {"inline": document}
        assert group.managed_policies == {}
