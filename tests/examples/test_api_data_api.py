"""api-data-api: template assertions, the cdk-nag gate, the HTTP layer over an in-memory store (the repository
contract, routes, the bad-input suite), the Data API repository's typed calls (stubbed) and the function's wiring.

The end-to-end tests, which deploy the app into a sandbox account and run the repository contract against the
sandbox's real PostgreSQL through the Data API, are in tests/e2e/test_api_data_api_e2e.py.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from items_contract import ItemsRepositoryContract
from items_http import BAD, proxy_event
from moto import mock_aws

from awspatterns.catalog import get_pattern
from awspatterns.shared_handlers import ROOT as SHARED_HANDLERS
from awspatterns.synth import synth

sys.path.insert(0, str(SHARED_HANDLERS))  # items_api, as the function finds it in its asset

SLUG = "api-data-api"
ROOT = "/serverless-patterns/data-api"
CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:awspatterns-data-api"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:awspatterns/data-api/database-AbCdEf"


# ---------------------------------------------------------------- template assertions (and the cdk-nag gate)
@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Template]:
    assembly = synth(get_pattern(SLUG), tmp_path_factory.mktemp("cdk.out"))  # raises on any cdk-nag finding
    return {name: Template.from_json(t) for name, t in assembly.templates.items()}


def test_the_app_deploys_the_ssm_parameters_stacks_under_its_own_names_and_environment(templates):
    assert set(templates) == {"DataApiNetwork", "DataApiDatabase", "ApiDataApi"}
    database = templates["DataApiDatabase"]
    database.has_resource_properties("AWS::RDS::DBCluster", {"DBClusterIdentifier": "awspatterns-data-api"})
    database.has_resource_properties("AWS::RDS::DBCluster", {"EnableHttpEndpoint": True})
    names = {r["Properties"]["Name"] for r in database.find_resources("AWS::SSM::Parameter").values()}
    assert f"{ROOT}/database/cluster-arn" in names and f"{ROOT}/database/secret-arn" in names
    for name in ("ClusterArn", "SecretArn", "DatabaseName", "DatabaseParameterPath"):
        assert name in database.to_json()["Outputs"]


def test_with_shared_existing_only_the_api_is_deployed_against_the_named_environment(tmp_path):
    assembly = synth(get_pattern(SLUG), tmp_path, {"shared": "existing", "environment": "demo"})
    assert list(assembly.templates) == ["ApiDataApi"]
    Template.from_json(assembly.templates["ApiDataApi"]).has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": {"DATABASE_PARAMETERS": "/serverless-patterns/demo/database"}}},
    )


def test_the_function_is_outside_any_vpc_and_finds_the_database_at_run_time(templates):
    api = templates["ApiDataApi"]
    (function,) = api.find_resources("AWS::Lambda::Function").values()
    assert "VpcConfig" not in function["Properties"]
    assert function["Properties"]["Environment"]["Variables"]["DATABASE_PARAMETERS"] == f"{ROOT}/database"
    deploy_time = [name for name in api.to_json().get("Parameters", {}) if name != "BootstrapVersion"]
    assert deploy_time == []  # the database's location is read at run time, never fixed in this template
    assert "Fn::ImportValue" not in json.dumps(api.to_json())


def test_the_function_may_use_only_the_named_cluster_secret_and_parameters(templates):
    policies = templates["ApiDataApi"].find_resources("AWS::IAM::Policy")
    statements = {
        action: json.dumps(statement["Resource"])
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    data_api = {a for a in statements if a.startswith("rds-data:")}
    assert data_api == {
        f"rds-data:{a}" for a in ("ExecuteStatement", "BeginTransaction", "CommitTransaction", "RollbackTransaction")
    }
    assert all(statements[a].endswith(':cluster:awspatterns-data-api"]]}') for a in data_api)
    assert statements["secretsmanager:GetSecretValue"].endswith(':secret:awspatterns/data-api/database-??????"]]}')
    assert statements["ssm:GetParametersByPath"].endswith(':parameter/serverless-patterns/data-api/database"]]}')


def test_the_api_routes_every_items_method_to_the_function_and_outputs_what_a_client_needs(templates):
    api = templates["ApiDataApi"]
    methods = api.find_resources("AWS::ApiGateway::Method")
    assert sorted(m["Properties"]["HttpMethod"] for m in methods.values()) == ["DELETE", "GET", "GET", "POST", "PUT"]
    assert all(m["Properties"]["Integration"]["Type"] == "AWS_PROXY" for m in methods.values())
    assert {"ApiUrl", "ItemsUrl", "ItemsFunctionName", "ItemsParameterPath"} <= set(api.to_json()["Outputs"])


# ---------------------------------------------------------------- the HTTP layer over an in-memory store
@pytest.fixture
def api():
    return importlib.import_module("items_api.api")


@pytest.fixture
def models():
    return importlib.import_module("items_api.repository")


class MemoryItems:
    """An ``ItemsRepository`` in a dict, which counts the calls that could change a row."""

    def __init__(self, models: Any) -> None:
        self.models, self.writes = models, 0
        self.rows: dict[uuid.UUID, Any] = {}

    def migrate(self) -> None:
        pass

    def create(self, item):
        self.writes += 1
        stored = self.models.Item(id=uuid.uuid4(), created_at=datetime.now(UTC), **item.model_dump())
        self.rows[stored.id] = stored
        return stored

    def get(self, item_id):
        return self.rows.get(item_id)

    def replace(self, item_id, item):
        self.writes += 1
        if item_id not in self.rows:
            return None
        self.rows[item_id] = self.rows[item_id].model_copy(update=item.model_dump())
        return self.rows[item_id]

    def delete(self, item_id):
        self.writes += 1
        return self.rows.pop(item_id, None) is not None

    def page(self, after, limit):
        ordered = sorted(i for i in self.rows if after is None or i > after)
        items = [self.rows[i] for i in ordered[:limit]]
        return self.models.Page(items=items, after=items[-1].id if len(ordered) > limit else None)


class TestMemoryItemsKeepsTheContract(ItemsRepositoryContract):  # type: ignore[misc]
    """The fake behind the HTTP layer's tests behaves as the real stores do."""

    @pytest.fixture
    def repository(self, models):
        return MemoryItems(models)


@pytest.fixture
def store(models) -> MemoryItems:
    return MemoryItems(models)


def call(api, store, lambda_context, *args: Any, **kwargs: Any) -> tuple[int, Any]:
    response = api.create_app(lambda: store).resolve(proxy_event(*args, **kwargs), lambda_context)
    return response["statusCode"], json.loads(response["body"] or "null")


def test_items_are_created_read_replaced_paged_and_deleted(api, store, lambda_context):
    status, created = call(api, store, lambda_context, "POST", body={"name": "lamp", "quantity": 2, "price": "9.90"})
    assert status == 201 and created["price"] == "9.90" and created["quantity"] == 2
    assert call(api, store, lambda_context, "GET", f"/items/{created['id']}") == (200, created)
    status, replaced = call(
        api, store, lambda_context, "PUT", f"/items/{created['id']}", {"name": "lamp", "quantity": 5}
    )
    assert status == 200 and replaced["quantity"] == 5 and replaced["price"] == "0"
    for n in range(4):
        call(api, store, lambda_context, "POST", body={"name": f"item {n}", "quantity": n})
    seen, token = [], None
    while True:
        status, page = call(
            api, store, lambda_context, "GET", query={"limit": "2", **({"next_token": token} if token else {})}
        )
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        if not (token := page["next_token"]):
            break
    assert seen == sorted(str(i) for i in store.rows)
    assert call(api, store, lambda_context, "DELETE", f"/items/{created['id']}") == (204, None)
    assert call(api, store, lambda_context, "GET", f"/items/{created['id']}")[0] == 404


def test_a_name_that_looks_like_sql_is_just_a_name(api, store, lambda_context):
    status, created = call(
        api, store, lambda_context, "POST", body={"name": "x'); DROP TABLE items; --", "quantity": 1}
    )
    assert status == 201 and created["name"] == "x'); DROP TABLE items; --"


def test_a_base64_encoded_body_is_decoded_first(api, store, lambda_context):
    status, _ = call(api, store, lambda_context, "POST", body={"name": "lamp", "quantity": 1}, base64_body=True)
    assert status == 201


# ---------------------------------------------------------------- bad input: 4xx with a message, no write
# The bad-input suite (tests/examples/items_http.py): malformed JSON, wrong types, out of range values, SQL in
# numbers, ids, limits and tokens, oversized bodies, forged pagination tokens, unknown ids.
@pytest.mark.parametrize(("args", "kwargs", "status", "message"), BAD.values(), ids=BAD.keys())
def test_bad_requests_get_a_4xx_with_a_message_and_change_no_row(
    api, store, lambda_context, args, kwargs, status, message
):
    existing = store.create(store.models.NewItem(name="kept", quantity=1))
    store.writes, before = 0, dict(store.rows)
    answered, body = call(api, store, lambda_context, *args, **kwargs)
    assert (answered, message in body["message"]) == (status, True), body
    assert store.rows == before and store.rows[existing.id].name == "kept"
    if status != 404:  # refused before the store was asked to write anything
        assert store.writes == 0


def test_oversized_is_measured_in_bytes_not_characters(api, store, lambda_context):
    assert call(api, store, lambda_context, "POST", body={"name": "é" * 100, "quantity": 1})[0] == 201
    padded = json.dumps({"name": "é" * 100, "quantity": 1, "pad": "é" * 2000}, ensure_ascii=False)
    assert len(padded) < 4096 < len(padded.encode())
    assert call(api, store, lambda_context, "POST", body=padded)[0] == 413


def test_a_body_flagged_base64_that_is_not_is_refused(api, store, lambda_context):
    event = {**proxy_event("POST", body="{}"), "body": "%%%not base64", "isBase64Encoded": True}
    response = api.create_app(lambda: store).resolve(event, lambda_context)
    assert response["statusCode"] == 400 and "base64" in json.loads(response["body"])["message"]
    assert store.writes == 0


# ---------------------------------------------------------------- the Data API repository: typed calls (stubbed)
@pytest.fixture
def data_api(handler_loader):
    return handler_loader(SLUG, "items.data_api")


@pytest.fixture
def stubbed(data_api):
    client = boto3.client("rds-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield stubber, data_api.DataApiItems(client, data_api.Location(CLUSTER_ARN, SECRET_ARN, "catalog"))
        stubber.assert_no_pending_responses()


WHERE: dict[str, str] = {"resourceArn": CLUSTER_ARN, "secretArn": SECRET_ARN, "database": "catalog"}
ROW: list[dict[str, Any]] = [
    {"stringValue": "6f1c1f8e-1d5e-4a5b-9b8e-0c8d0f6f0a01"},
    {"stringValue": "lamp"},
    {"longValue": 3},
    {"stringValue": "9.90"},
    {"stringValue": "2026-12-01 04:00:00.123456"},
]


def test_values_travel_as_typed_parameters_never_in_the_sql(stubbed, models):
    stubber, repository = stubbed
    item_id = uuid.UUID(ROW[0]["stringValue"])
    stubber.add_response(
        "execute_statement",
        {"records": [ROW]},
        {
            **WHERE,
            "sql": ANY,
            "parameters": [
                {"name": "id", "value": {"stringValue": str(item_id)}, "typeHint": "UUID"},
                {"name": "name", "value": {"stringValue": "lamp'; --"}},
                {"name": "quantity", "value": {"longValue": 3}},
                {"name": "price", "value": {"stringValue": "9.90"}, "typeHint": "DECIMAL"},
            ],
        },
    )
    replaced = repository.replace(item_id, models.NewItem(name="lamp'; --", quantity=3, price=Decimal("9.90")))
    assert replaced.id == item_id and replaced.price == Decimal("9.90") and replaced.created_at.year == 2026


def test_the_migration_runs_in_one_transaction_under_a_lock(stubbed, data_api):
    stubber, repository = stubbed
    arns = {"resourceArn": CLUSTER_ARN, "secretArn": SECRET_ARN}
    stubber.add_response("begin_transaction", {"transactionId": "t-1"}, {**WHERE})
    lock = [{"name": "lock", "value": {"longValue": data_api.MIGRATION_LOCK}}]
    stubber.add_response(
        "execute_statement",
        {"records": [[{"isNull": True}]]},
        {**WHERE, "sql": "SELECT pg_advisory_xact_lock(:lock)", "parameters": lock, "transactionId": "t-1"},
    )
    stubber.add_response(
        "execute_statement", {}, {**WHERE, "sql": data_api.SCHEMA, "parameters": [], "transactionId": "t-1"}
    )
    stubber.add_response(
        "commit_transaction", {"transactionStatus": "Transaction Committed"}, {**arns, "transactionId": "t-1"}
    )
    repository.migrate()
    assert "CREATE TABLE IF NOT EXISTS items" in data_api.SCHEMA


def test_a_failed_migration_is_rolled_back_and_raised(stubbed):
    stubber, repository = stubbed
    stubber.add_response("begin_transaction", {"transactionId": "t-2"}, {**WHERE})
    stubber.add_client_error("execute_statement", "BadRequestException", "permission denied for schema public")
    stubber.add_response(
        "rollback_transaction",
        {"transactionStatus": "Rollback Complete"},
        {"resourceArn": CLUSTER_ARN, "secretArn": SECRET_ARN, "transactionId": "t-2"},
    )
    with pytest.raises(ClientError, match="permission denied"):
        repository.migrate()


def test_a_page_asks_for_one_row_more_to_know_whether_another_follows(stubbed):
    stubber, repository = stubbed
    second = [{**ROW[0], "stringValue": "7f1c1f8e-1d5e-4a5b-9b8e-0c8d0f6f0a01"}, *ROW[1:]]
    stubber.add_response(
        "execute_statement",
        {"records": [ROW, second]},
        {**WHERE, "sql": ANY, "parameters": [{"name": "limit", "value": {"longValue": 2}}]},
    )
    page = repository.page(None, 1)
    assert [str(i.id) for i in page.items] == [ROW[0]["stringValue"]] and str(page.after) == ROW[0]["stringValue"]


def test_a_page_that_holds_the_last_item_has_no_next_token(stubbed):
    stubber, repository = stubbed
    stubber.add_response("execute_statement", {"records": [ROW]}, None)
    assert repository.page(None, 1).after is None


# ---------------------------------------------------------------- the function: parameters, migration once
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DATABASE_PARAMETERS", f"{ROOT}/database")
    parameters.clear_caches()
    with mock_aws():
        ssm = boto3.client("ssm")
        for name, value in (("cluster-arn", CLUSTER_ARN), ("secret-arn", SECRET_ARN), ("database-name", "catalog")):
            ssm.put_parameter(Name=f"{ROOT}/database/{name}", Value=value, Type="String")
        yield ssm
    parameters.clear_caches()


@pytest.fixture
def function(aws, handler_loader):
    index = handler_loader(SLUG, "items.index")
    with Stubber(index.data_api) as stubber:
        yield index, stubber


def expect_migration(stubber: Stubber) -> None:
    stubber.add_response("begin_transaction", {"transactionId": "t"}, {**WHERE})
    stubber.add_response("execute_statement", {}, None)
    stubber.add_response("execute_statement", {}, None)
    stubber.add_response("commit_transaction", {}, None)


def test_the_schema_is_migrated_on_the_first_request_only(function, lambda_context):
    index, stubber = function
    expect_migration(stubber)
    for _ in range(2):
        stubber.add_response("execute_statement", {"records": []}, {**WHERE, "sql": ANY, "parameters": ANY})
    for _ in range(2):
        response = index.handler(proxy_event("GET"), lambda_context)
        assert response["statusCode"] == 200 and json.loads(response["body"]) == {"items": [], "next_token": None}
    stubber.assert_no_pending_responses()


def test_a_replaced_database_without_the_schema_is_migrated_again(function, lambda_context):
    index, stubber = function
    expect_migration(stubber)
    stubber.add_response("execute_statement", {"records": []}, None)
    index.handler(proxy_event("GET"), lambda_context)
    stubber.add_client_error("execute_statement", "BadRequestException", 'ERROR: relation "items" does not exist')
    expect_migration(stubber)
    stubber.add_response("execute_statement", {"records": []}, None)
    assert index.handler(proxy_event("GET"), lambda_context)["statusCode"] == 200
    stubber.assert_no_pending_responses()


def test_missing_parameters_say_which_and_where(aws, function, lambda_context):
    index, _ = function
    aws.delete_parameter(Name=f"{ROOT}/database/secret-arn")
    with pytest.raises(index.DatabaseNotFound, match=f"no secret-arn under {ROOT}/database"):
        index.handler(proxy_event("GET"), lambda_context)


def test_bad_requests_never_reach_the_database(function, lambda_context):
    index, _ = function  # no responses queued: any Data API call would fail the test
    for args, kwargs, status, _ in BAD.values():
        if status != 404:
            assert index.handler(proxy_event(*args, **kwargs), lambda_context)["statusCode"] == status
