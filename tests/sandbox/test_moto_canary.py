"""Canaries: the moto internals the sandbox relies on. When a pin moves, these fail first and say what moved."""

from __future__ import annotations

import inspect
import json
import math
import re
from importlib.metadata import version
from typing import Any

import pytest
from moto.apigateway import models as apigateway_models
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.cloudformation import parsing
from moto.cloudformation.custom_model import CustomModel
from moto.core.common_models import CloudFormationModel
from moto.core.responses import BaseResponse
from moto.dynamodb.models.table import StreamShard
from moto.ec2.models import ec2_backends
from moto.events.models import events_backends
from moto.iam.models import AccessKey, IAMBackend
from moto.kinesis.models import Shard
from moto.kinesis.models import Stream as KinesisStream
from moto.s3.responses import S3Response
from moto.sns.models import sns_backends
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


#: Instances for classes that set attributes dynamically (a Queue sets one per queue attribute with setattr).
INSTANCES = {Queue: lambda: Queue("canary", "us-east-1", "000000000100")}  # type: ignore[abstract]


def carries(owner: type, attribute: str) -> bool:
    """Whether ``owner``'s instances have ``attribute``: on the class (a method, property or class attribute), on a
    real instance where the test can build one, or assigned to ``self`` in the source of the class or of one of its
    moto bases (instance state)."""
    if hasattr(owner, attribute) or (owner in INSTANCES and hasattr(INSTANCES[owner](), attribute)):
        return True
    assignment = re.compile(rf"\bself\.{re.escape(attribute)}\s*(:[^=\n]*)?=[^=]")
    return any(assignment.search(inspect.getsource(cls)) for cls in owner.__mro__ if cls.__module__.startswith("moto."))


@pytest.mark.parametrize("owner, attribute", engine.READS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_read_internal_is_still_there(owner, attribute):
    assert carries(owner, attribute), f"moto's {owner.__name__} no longer has {attribute}: the sandbox reads it"


def test_the_read_check_tells_a_missing_attribute_from_a_present_one():
    assert carries(Queue, "lambda_event_source_mappings")  # instance state, assigned in __init__
    assert carries(Queue, "approximate_number_of_messages")  # a property
    assert not carries(Queue, "lambda_event_source_mapping")
    assert not carries(Queue, "visibility_timeout_")


def test_an_sns_subscription_still_carries_the_filter_policy_matcher_the_sandbox_reads():
    backend = sns_backends["000000000101"]["us-east-1"]
    topic = backend.create_topic("canary")
    subscription = backend.subscribe(topic.arn, "arn:aws:lambda:us-east-1:000000000101:function:f", "lambda")
    assert subscription._filter_policy_matcher is None and subscription.topic is topic
    backend.set_subscription_attributes(subscription.arn, "FilterPolicy", json.dumps({"kind": ["order"]}))
    matcher: Any = subscription._filter_policy_matcher
    assert matcher.matches({"kind": {"Type": "String", "Value": "order"}}, "message")
    assert not matcher.matches({"kind": {"Type": "String", "Value": "refund"}}, "message")


def test_an_event_bus_still_keeps_its_policy_statements_where_the_sandbox_reads_them():
    backend = events_backends["000000000102"]["us-east-1"]
    bus = backend.create_event_bus("canary")
    backend.put_permission("canary", "events:PutEvents", "000000000103", "member", condition={}, policy="")
    [statement] = bus._statements.values()
    assert statement.describe()["Principal"] == {"AWS": "arn:aws:iam::000000000103:root"}


def test_lambda_backend_still_answers_the_mapping_lookup_the_pollers_use():
    backend = LambdaBackend("000000000104", "us-east-1")
    assert backend.get_event_source_mapping("no-such-mapping") is None


def test_moto_still_keys_its_event_source_dicts_the_way_the_sandbox_empties_them():
    source = inspect.getsource(LambdaBackend.create_event_source_mapping)
    assert "queue.lambda_event_source_mappings[esm.function_arn]" in source
    assert "table.lambda_event_source_mappings[esm.function_arn]" in source
    assert "stream.lambda_event_source_mappings[esm.event_source_arn]" in source
    assert "lambda_event_source_mappings" in inspect.getsource(StreamShard.add)
    assert "lambda_event_source_mappings" in inspect.getsource(KinesisStream.put_record)


def test_moto_still_numbers_a_kinesis_shards_records_one_by_one():
    shard = Shard(0, 0, 2**128)
    for n in range(3):
        shard.put_record("key", f"{n}", "1")
    assert list(shard.records) == [1, 2, 3]  # the stream source reads them by number from the checkpoint on


# Private state read by cloudformation/deletion.py and rds/cloudformation.py. Those modules do not declare READS
# yet; until they do, these hold the line by hand.
def test_a_route_table_still_keeps_its_associations_where_stack_deletion_reads_them():
    backend = ec2_backends["000000000105"]["us-east-1"]
    vpc = backend.create_vpc("10.0.0.0/16")
    subnet = backend.create_subnet(vpc.id, "10.0.1.0/24")
    table = backend.create_route_table(vpc.id)
    association = backend.associate_route_table(table.id, subnet_id=subnet.id)
    assert table._associations == {association: subnet.id}


def test_resource_map_keeps_the_account_and_region_that_stack_deletion_and_rds_read():
    source = inspect.getsource(parsing.ResourceMap)
    assert "self._account_id" in source and "self._region_name" in source


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


def test_moto_still_maps_buckets_to_accounts_and_keeps_lambda_permission_principals_as_given():
    """Read by iam/resource_policies.py (a bucket's owner) and parsed by iam/policies.py (a bare account id)."""
    from moto.awslambda.policy import Policy as LambdaPolicy
    from moto.s3.models import s3_backends

    assert isinstance(s3_backends.bucket_accounts, dict)
    parent = type("Fn", (), {"function_arn": "arn:aws:lambda:us-east-1:000000000102:function:f"})()
    policy = LambdaPolicy(parent)
    statement, _ = policy.add_statement(
        '{"StatementId": "x", "Action": "lambda:InvokeFunction", "Principal": "111111111111"}'
    )
    assert statement["Principal"] == "111111111111"
    assert statement["Resource"] == "arn:aws:lambda:us-east-1:000000000102:function:f"


def test_moto_sets_a_topic_policy_only_under_its_snake_case_attribute():
    """cloudformation/policies.py sets ``policy``: moto's ``set_topic_attribute`` is a bare ``setattr``."""
    from moto.sns.models import sns_backends

    backend = sns_backends["000000000103"]["us-east-1"]
    topic = backend.create_topic("canary")
    backend.set_topic_attribute(topic.arn, "policy", '{"Statement": [{"Sid": "x"}]}')
    assert topic._policy_json == {"Statement": [{"Sid": "x"}]}
