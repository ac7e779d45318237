"""api-postgres-vpc: template assertions, the cdk-nag gate, the kept connection (reconnect, retry only where safe,
a fresh secret after a refused password), the psycopg repository's SQL (values always parameters) and the
function's wiring, including the bad-input suite sent to the function itself.

The HTTP layer is shared with api-data-api and tested once, in tests/examples/test_api_data_api.py. The end-to-end
tests, which deploy the app into a sandbox account, run the repository contract against the sandbox's real
PostgreSQL over psycopg, and end and re-open connections, are in tests/e2e/test_api_postgres_vpc_e2e.py.
"""

from __future__ import annotations

import json
import sys
import uuid
import zipfile
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
import psycopg
import pytest
from aws_cdk.assertions import Template
from aws_lambda_powertools.utilities import parameters
from items_http import BAD, proxy_event
from moto import mock_aws

from awspatterns.catalog import get_pattern
from awspatterns.shared_handlers import ROOT as SHARED_HANDLERS
from awspatterns.synth import synth

sys.path.insert(0, str(SHARED_HANDLERS))  # items_api, as the function finds it in its asset

SLUG = "api-postgres-vpc"
ROOT = "/serverless-patterns/postgres-vpc"


# ---------------------------------------------------------------- template assertions (and the cdk-nag gate)
@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    return synth(get_pattern(SLUG), tmp_path_factory.mktemp("cdk.out"))  # raises on any cdk-nag finding


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, Template]:
    return {name: Template.from_json(t) for name, t in assembly.templates.items()}


def the_function(templates) -> dict[str, Any]:
    (function,) = templates["ApiPostgresVpc"].find_resources("AWS::Lambda::Function").values()
    return function  # type: ignore[no-any-return]


def test_the_app_deploys_the_ssm_parameters_stacks_under_its_own_names_and_environment(templates):
    assert set(templates) == {"PostgresVpcNetwork", "PostgresVpcDatabase", "ApiPostgresVpc"}
    database = templates["PostgresVpcDatabase"]
    database.has_resource_properties("AWS::RDS::DBCluster", {"DBClusterIdentifier": "awspatterns-postgres-vpc"})
    names = {r["Properties"]["Name"] for r in database.find_resources("AWS::SSM::Parameter").values()}
    assert {f"{ROOT}/database/{n}" for n in ("endpoint", "port", "secret-arn", "database-name")} <= names


def test_with_shared_existing_only_the_api_is_deployed_against_the_named_environment(tmp_path):
    assembly = synth(get_pattern(SLUG), tmp_path, {"shared": "existing", "environment": "demo"})
    assert list(assembly.templates) == ["ApiPostgresVpc"]
    api = Template.from_json(assembly.templates["ApiPostgresVpc"])
    api.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": {"DATABASE_PARAMETERS": "/serverless-patterns/demo/database"}}},
    )
    ssm_parameters = [p["Default"] for p in api.to_json()["Parameters"].values() if "Default" in p]
    read = [p for p in ssm_parameters if p.startswith("/serverless-patterns/")]
    assert read and all(p.startswith("/serverless-patterns/demo/network/") for p in read)


def test_the_function_runs_in_the_application_tier_with_its_own_security_group(templates):
    api = templates["ApiPostgresVpc"]
    vpc_config = the_function(templates)["Properties"]["VpcConfig"]
    subnets = json.dumps(vpc_config["SubnetIds"])
    parameters_by_name = {p.get("Default"): name for name, p in api.to_json()["Parameters"].items()}
    assert parameters_by_name[f"{ROOT}/network/application-subnet-ids"] in subnets
    assert parameters_by_name.get(f"{ROOT}/network/data-subnet-ids") is None  # never the data tier
    (group_id,) = api.find_resources("AWS::EC2::SecurityGroup")
    assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]


def test_the_functions_security_group_lets_out_only_postgresql_to_the_data_tier_and_https_to_the_endpoints(
    templates,
):
    api = templates["ApiPostgresVpc"]
    ((_group_id, group),) = api.find_resources("AWS::EC2::SecurityGroup").items()
    assert "SecurityGroupIngress" not in group["Properties"]
    egress = group["Properties"]["SecurityGroupEgress"]
    parameters_by_name = {p.get("Default"): name for name, p in api.to_json()["Parameters"].items()}
    data = parameters_by_name[f"{ROOT}/network/data-subnet-cidrs"]
    assert sorted((rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) for rule in egress) == [
        (443, 443, "tcp"),
        (5432, 5432, "tcp"),
        (5432, 5432, "tcp"),
    ]
    assert all(data in json.dumps(rule["CidrIp"]) for rule in egress if rule["FromPort"] == 5432)
    (https,) = (rule for rule in egress if rule["FromPort"] == 443)
    assert https["CidrIp"] == {"Ref": parameters_by_name[f"{ROOT}/network/vpc-cidr"]}
    assert "0.0.0.0/0" not in json.dumps(egress)


def test_the_database_admits_postgresql_only_and_only_from_the_application_tier_and_its_rotation(templates):
    database = templates["PostgresVpcDatabase"].to_json()
    groups = {k: r for k, r in database["Resources"].items() if r["Type"] == "AWS::EC2::SecurityGroup"}
    cluster = next(r for r in database["Resources"].values() if r["Type"] == "AWS::RDS::DBCluster")
    (cluster_group,) = [g["Fn::GetAtt"][0] for g in cluster["Properties"]["VpcSecurityGroupIds"]]
    rules = [
        *groups[cluster_group]["Properties"].get("SecurityGroupIngress", []),
        *(
            r["Properties"]
            for r in database["Resources"].values()
            if r["Type"] == "AWS::EC2::SecurityGroupIngress"
            and r["Properties"]["GroupId"] == {"Fn::GetAtt": [cluster_group, "GroupId"]}
        ),
    ]
    assert len(rules) == 3 and all((r["FromPort"], r["ToPort"]) == (5432, 5432) for r in rules)
    assert "application-subnet-cidrs" in json.dumps(database["Parameters"])


def test_the_function_may_read_only_the_parameters_and_the_secret_and_nothing_on_rds_data(templates):
    statements: dict[str, list[str]] = {}
    for policy in templates["ApiPostgresVpc"].find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
                statements.setdefault(action, []).append(json.dumps(statement["Resource"]))
    assert not [a for a in statements if a.startswith(("rds-data:", "rds:", "rds-db:"))]
    (path,) = statements["ssm:GetParametersByPath"]
    assert path.endswith(':parameter/serverless-patterns/postgres-vpc/database"]]}')
    (secret,) = statements["secretsmanager:GetSecretValue"]
    assert secret.endswith(':secret:awspatterns/postgres-vpc/database-??????"]]}')
    own = {a for a in statements if a.split(":")[0] in {"ssm", "secretsmanager"}}
    assert own == {"ssm:GetParametersByPath", "secretsmanager:GetSecretValue"}


def test_the_api_routes_every_items_method_to_the_function_and_outputs_what_a_client_needs(templates):
    api = templates["ApiPostgresVpc"]
    methods = api.find_resources("AWS::ApiGateway::Method")
    assert sorted(m["Properties"]["HttpMethod"] for m in methods.values()) == ["DELETE", "GET", "GET", "POST", "PUT"]
    assert {"ApiUrl", "ItemsUrl", "ItemsFunctionName", "ItemsParameterPath", "ItemsSecurityGroupId"} <= set(
        api.to_json()["Outputs"]
    )


def test_the_asset_ships_the_shared_http_layer_next_to_the_pattern_s_own_code(assembly, templates):
    key = the_function(templates)["Properties"]["Code"]["S3Key"]
    asset = assembly.directory / f"asset.{key.removesuffix('.zip')}"
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*.py"))
    assert files == [
        "items/index.py",
        "items/postgres.py",
        "items_api/__init__.py",
        "items_api/api.py",
        "items_api/repository.py",
        "items_api/schema.py",
    ]
    assert (asset / "items_api" / "api.py").read_bytes() == (SHARED_HANDLERS / "items_api" / "api.py").read_bytes()


def test_psycopg_ships_in_the_function_s_own_layer_built_for_the_lambda_runtime(assembly, templates):
    stack = templates["ApiPostgresVpc"]
    (layer_id,) = stack.find_resources("AWS::Lambda::LayerVersion")
    assert {"Ref": layer_id} in the_function(templates)["Properties"]["Layers"]  # beside the Powertools layer
    key = stack.find_resources("AWS::Lambda::LayerVersion")[layer_id]["Properties"]["Content"]["S3Key"]
    with zipfile.ZipFile(assembly.directory / f"asset.{key}") as layer:  # the block packages the layer itself
        assert "python/psycopg_binary/_psycopg.cpython-314-x86_64-linux-gnu.so" in layer.namelist()


# ---------------------------------------------------------------- the kept connection, with fakes
@pytest.fixture
def postgres(handler_loader):
    return handler_loader(SLUG, "items.postgres")


class FakeConnection:
    """Enough of a psycopg connection: records statements, breaks on demand (as a terminated backend does)."""

    def __init__(self, name: str) -> None:
        self.name, self.closed, self.broken = name, False, False
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.commits = self.rollbacks = 0
        self.fail_next: Exception | None = None
        self.fail_commit: Exception | None = None
        self.rows: list[dict[str, Any]] = []

    def _maybe_fail(self, failure: Exception | None) -> None:
        if failure is not None:
            self.fail_next = self.fail_commit = None
            if isinstance(failure, psycopg.OperationalError) and "terminating" in str(failure):
                self.broken = self.closed = True
            raise failure

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        self._maybe_fail(self.fail_next)
        self.statements.append((sql, parameters))

    def cursor(self, row_factory: Any = None) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        self._maybe_fail(self.fail_commit)
        self.commits += 1

    def rollback(self) -> None:
        self.rollbacks += 1

    def close(self) -> None:
        self.closed = True


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.description: bool | None = None

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        self.connection.execute(sql, parameters)
        self.description = "RETURNING" in sql or sql.startswith("SELECT")

    def fetchall(self) -> list[dict[str, Any]]:
        return self.connection.rows


def terminated() -> psycopg.OperationalError:
    return psycopg.errors.AdminShutdown("terminating connection due to administrator command")


class Harness:
    """A ``Database`` over fake connections and a fake secret whose password the test changes."""

    def __init__(self, postgres: Any) -> None:
        self.postgres = postgres
        self.opened: list[FakeConnection] = []
        self.reads: list[bool] = []
        self.password = "first"
        self.endpoint = postgres.Endpoint("db.internal", 5432, "catalog", "arn:secret")
        self.cached = "first"
        self.database = postgres.Database(lambda: self.endpoint, self.credentials, self.connect)

    def credentials(self, secret_arn: str, fresh: bool) -> Any:
        self.reads.append(fresh)
        if fresh:
            self.cached = self.password
        return self.postgres.Credentials("app_admin", self.cached)

    def connect(self, endpoint: Any, credentials: Any) -> FakeConnection:
        if credentials.password != self.password:
            raise psycopg.OperationalError(
                'connection failed: FATAL:  password authentication failed for user "app_admin"'
            )
        connection = FakeConnection(f"c{len(self.opened) + 1}")
        self.opened.append(connection)
        return connection


@pytest.fixture
def harness(postgres) -> Harness:
    return Harness(postgres)


def test_one_connection_is_opened_lazily_and_kept_for_every_unit_of_work(harness):
    assert harness.opened == []  # nothing at import or construction: the first request opens it
    for _ in range(3):
        harness.database.run(lambda c: c.execute("SELECT 1"), idempotent=True)
    assert [c.name for c in harness.opened] == ["c1"] and harness.opened[0].commits == 3
    assert harness.database.opened == 1


def test_a_connection_ended_by_the_server_is_replaced_and_the_work_runs_once_more(harness):
    harness.database.run(lambda c: c.execute("SELECT 1"), idempotent=True)
    harness.opened[0].fail_next = terminated()
    answer = harness.database.run(lambda c: c.execute("INSERT ...") or "inserted", idempotent=False)
    assert answer == "inserted" and [c.name for c in harness.opened] == ["c1", "c2"]
    assert harness.opened[1].statements == [("INSERT ...", ())] and harness.opened[1].commits == 1


def test_a_second_failure_in_a_row_is_raised_not_retried_forever(harness):
    harness.database.run(lambda c: None, idempotent=True)

    def always_terminated(connection: FakeConnection) -> None:
        connection.fail_next = terminated()
        connection.execute("SELECT 1")

    with pytest.raises(psycopg.errors.AdminShutdown):
        harness.database.run(always_terminated, idempotent=True)
    assert len(harness.opened) == 2


def test_a_connection_lost_during_the_commit_retries_idempotent_work_only(harness, postgres):
    harness.database.run(lambda c: None, idempotent=True)
    harness.opened[0].fail_commit = terminated()
    assert harness.database.run(lambda c: c.execute("UPDATE ...") or "replaced", idempotent=True) == "replaced"
    assert harness.opened[1].commits == 1
    harness.opened[1].fail_commit = terminated()
    with pytest.raises(postgres.OutcomeUnknown, match="may or may not be stored"):
        harness.database.run(lambda c: c.execute("INSERT ..."), idempotent=False)
    assert len(harness.opened) == 2  # not run again: it may have been stored
    harness.database.run(lambda c: None, idempotent=True)  # the next unit of work opens a new connection
    assert len(harness.opened) == 3


def test_errors_that_leave_the_connection_healthy_roll_back_and_are_not_retried(harness):
    harness.database.run(lambda c: None, idempotent=True)
    harness.opened[0].fail_next = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    with pytest.raises(psycopg.errors.QueryCanceled):
        harness.database.run(lambda c: c.execute("SELECT pg_sleep(10)"), idempotent=True)
    harness.opened[0].fail_next = psycopg.errors.CheckViolation("new row violates check constraint")
    with pytest.raises(psycopg.errors.CheckViolation):
        harness.database.run(lambda c: c.execute("INSERT ..."), idempotent=False)
    assert len(harness.opened) == 1 and harness.opened[0].rollbacks == 2 and harness.opened[0].commits == 1


def test_a_refused_password_reads_the_secret_again_once(harness):
    harness.database.run(lambda c: None, idempotent=True)
    assert harness.reads == [False]
    harness.password = "rotated"  # the secret's rotation: the server has the new password
    harness.database.run(lambda c: None, idempotent=True)  # the kept connection still works
    harness.opened[0].fail_next = terminated()
    harness.database.run(lambda c: c.execute("SELECT 1"), idempotent=True)
    assert harness.reads == [False, False, True] and len(harness.opened) == 2


def test_a_wrong_password_even_after_a_fresh_read_is_raised(harness):
    harness.password, harness.cached = "rotated", "stale"
    harness.credentials = lambda secret_arn, fresh: harness.postgres.Credentials("app_admin", "still wrong")
    harness.database._credentials = harness.credentials
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        harness.database.run(lambda c: None, idempotent=True)


def test_a_moved_database_gets_a_new_connection(harness, postgres):
    harness.database.run(lambda c: None, idempotent=True)
    harness.endpoint = postgres.Endpoint("new.internal", 5432, "catalog", "arn:secret")
    harness.database.run(lambda c: None, idempotent=True)
    assert len(harness.opened) == 2 and harness.opened[0].closed


def test_tls_everywhere_but_the_sandboxs_loopback_server(postgres):
    assert postgres.sslmode("awspatterns-demo.cluster-abc.us-east-1.rds.amazonaws.com") == "require"
    assert postgres.sslmode("10.40.3.7") == "require"
    assert postgres.sslmode("127.0.0.1") == postgres.sslmode("localhost") == "disable"


def test_connections_carry_the_timeouts_and_their_name(postgres, monkeypatch):
    seen: dict[str, Any] = {}
    monkeypatch.setattr(postgres.psycopg, "connect", lambda **kwargs: seen.update(kwargs))
    postgres.connect(postgres.Endpoint("db", 5432, "catalog", "arn"), postgres.Credentials("u", "p"))
    assert seen["connect_timeout"] == 5 and seen["sslmode"] == "require"
    assert seen["options"] == "-c statement_timeout=5000 -c idle_in_transaction_session_timeout=10000"
    assert seen["application_name"] == "api-postgres-vpc items"


# ---------------------------------------------------------------- the repository's SQL: values are parameters
ROW = {
    "id": uuid.UUID("6f1c1f8e-1d5e-4a5b-9b8e-0c8d0f6f0a01"),
    "name": "lamp'; --",
    "quantity": 3,
    "price": Decimal("9.90"),
    "created_at": datetime(2026, 12, 1, 4),
}


@pytest.fixture
def items(harness, postgres):
    harness.database.run(lambda c: None, idempotent=True)
    return postgres.PostgresItems(harness.database), harness.opened[0]


def test_values_travel_as_parameters_never_in_the_sql(items):
    repository, connection = items
    models = sys.modules["items_api.repository"]
    connection.rows = [ROW]
    replaced = repository.replace(ROW["id"], models.NewItem(name="lamp'; --", quantity=3, price=Decimal("9.90")))
    assert replaced.id == ROW["id"] and replaced.price == Decimal("9.90")
    ((sql, values),) = connection.statements
    assert values == ("lamp'; --", 3, Decimal("9.90"), ROW["id"])
    assert "lamp" not in sql and str(ROW["id"]) not in sql and sql.count("%s") == 4


def test_the_migration_takes_the_advisory_lock_then_creates_the_table_in_one_transaction(items, postgres):
    repository, connection = items
    repository.migrate()
    schema = sys.modules["items_api.schema"]
    assert connection.statements == [
        ("SELECT pg_advisory_xact_lock(%s)", (schema.MIGRATION_LOCK,)),
        (schema.SCHEMA, ()),
    ]
    assert connection.commits == 2 and "CREATE TABLE IF NOT EXISTS items" in schema.SCHEMA


def test_a_page_asks_for_one_row_more_to_know_whether_another_follows(items):
    repository, connection = items
    connection.rows = [ROW, {**ROW, "id": uuid.UUID("7f1c1f8e-1d5e-4a5b-9b8e-0c8d0f6f0a01")}]
    page = repository.page(ROW["id"], 1)
    assert [i.id for i in page.items] == [ROW["id"]] and page.after == ROW["id"]
    assert connection.statements[-1][1] == (ROW["id"], 2)
    connection.rows = [ROW]
    assert repository.page(None, 1).after is None and connection.statements[-1][1] == (2,)


def test_creates_and_deletes_are_not_retried_after_an_ambiguous_commit_but_reads_and_replaces_are(items, postgres):
    repository, _connection = items
    models = sys.modules["items_api.repository"]
    for call, retried in (
        (lambda: repository.create(models.NewItem(name="x", quantity=1)), False),
        (lambda: repository.delete(ROW["id"]), False),
        (lambda: repository.get(ROW["id"]), True),
        (lambda: repository.replace(ROW["id"], models.NewItem(name="x", quantity=1)), True),
        (lambda: repository.page(None, 2), True),
    ):
        current = repository._database.connection()
        current.fail_commit, current.rows = terminated(), [ROW]
        if retried:
            call()
        else:
            with pytest.raises(postgres.OutcomeUnknown):
                call()


# ---------------------------------------------------------------- the function: parameters, secret, migration once
SECRET = json.dumps({"username": "app_admin", "password": "first", "host": "ignored", "port": 5432})


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DATABASE_PARAMETERS", f"{ROOT}/database")
    parameters.clear_caches()
    with mock_aws():
        secret_arn = boto3.client("secretsmanager").create_secret(Name="awspatterns/db", SecretString=SECRET)["ARN"]
        ssm = boto3.client("ssm")
        for name, value in (
            ("endpoint", "awspatterns-postgres-vpc.cluster-x.us-east-1.rds.amazonaws.com"),
            ("port", "5432"),
            ("secret-arn", secret_arn),
            ("database-name", "catalog"),
        ):
            ssm.put_parameter(Name=f"{ROOT}/database/{name}", Value=value, Type="String")
        yield ssm
    parameters.clear_caches()


@pytest.fixture
def function(aws, handler_loader, monkeypatch):
    index = handler_loader(SLUG, "items.index")
    postgres = sys.modules["items.postgres"]
    opened: list[tuple[Any, Any]] = []

    def connect(endpoint: Any, credentials: Any) -> FakeConnection:
        opened.append((endpoint, credentials))
        return FakeConnection("c")

    monkeypatch.setattr(index.database, "_connector", connect)
    monkeypatch.setattr(postgres, "connect", connect)
    return index, opened


def test_the_function_connects_with_the_parameters_and_the_secret_and_migrates_once(function, lambda_context):
    index, opened = function
    for _ in range(2):
        response = index.handler(proxy_event("GET"), lambda_context)
        assert response["statusCode"] == 200 and json.loads(response["body"]) == {"items": [], "next_token": None}
    ((endpoint, credentials),) = opened
    assert (endpoint.host, endpoint.port, endpoint.database) == (
        "awspatterns-postgres-vpc.cluster-x.us-east-1.rds.amazonaws.com",
        5432,
        "catalog",
    )
    assert (credentials.user, credentials.password) == ("app_admin", "first")
    statements = [sql for sql, _ in index.database.connection().statements]
    assert sum("pg_advisory_xact_lock" in s for s in statements) == 1


def test_a_replaced_database_without_the_schema_is_migrated_again(function, lambda_context):
    index, _ = function
    index.handler(proxy_event("GET"), lambda_context)
    index.database.connection().fail_next = psycopg.errors.UndefinedTable('relation "items" does not exist')
    assert index.handler(proxy_event("GET"), lambda_context)["statusCode"] == 200
    statements = [sql for sql, _ in index.database.connection().statements]
    assert sum("pg_advisory_xact_lock" in s for s in statements) == 2


def answer(index: Any, event: dict[str, Any], context: Any) -> tuple[int, str]:
    response = index.handler(event, context)
    return response["statusCode"], json.loads(response["body"])["message"]


def test_missing_parameters_are_a_503_and_the_log_says_which_and_where(aws, function, lambda_context, caplog):
    index, _ = function
    aws.delete_parameter(Name=f"{ROOT}/database/endpoint")
    assert answer(index, proxy_event("GET"), lambda_context) == (503, "the database is not available; try again later")
    assert f"no endpoint under {ROOT}/database" in caplog.text  # the reason, for the operator only


def test_a_commit_whose_outcome_is_unknown_is_a_500_that_says_to_read_before_retrying(function, lambda_context):
    index, _ = function
    index.handler(proxy_event("GET"), lambda_context)  # connected and migrated
    index.database.connection().fail_commit = terminated()
    status, message = answer(index, proxy_event("POST", body={"name": "lamp", "quantity": 1}), lambda_context)
    assert status == 500 and "may or may not be stored" in message and "read it back" in message


def test_a_statement_timeout_and_an_unreachable_database_are_503s_that_changed_nothing(function, lambda_context):
    index, _ = function
    index.handler(proxy_event("GET"), lambda_context)
    index.database.connection().fail_next = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    assert answer(index, proxy_event("GET"), lambda_context) == (
        503,
        "the database did not answer in time; nothing was changed, try again",
    )

    def refused(endpoint: Any, credentials: Any) -> FakeConnection:
        raise psycopg.OperationalError("connection failed: Connection refused")

    index.database.connection().fail_next = terminated()  # the kept connection is gone, and so is the server
    index.database._connector = refused
    assert answer(index, proxy_event("GET"), lambda_context) == (
        503,
        "the database cannot be reached; nothing was changed, try again",
    )


# The bad-input suite (tests/examples/items_http.py): malformed JSON, wrong types, out of range values, SQL in
# numbers, ids, limits and tokens, oversized bodies, forged pagination tokens, unknown ids.
@pytest.mark.parametrize(("args", "kwargs", "status", "message"), BAD.values(), ids=BAD.keys())
def test_bad_requests_are_refused_by_the_function_before_any_connection(
    function, lambda_context, args, kwargs, status, message
):
    index, opened = function
    if status == 404:  # an unknown id is the database's answer: it needs the connection, and changes nothing
        return
    response = index.handler(proxy_event(*args, **kwargs), lambda_context)
    assert (response["statusCode"], message in json.loads(response["body"])["message"]) == (status, True)
    assert opened == []  # refused before the database was asked anything
