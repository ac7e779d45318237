"""Aurora PostgreSQL in the sandbox: a CloudFormation cluster with a generated secret becomes a real PostgreSQL
server, and the Data API runs real SQL on it, with the documented parameter, result and error shapes."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError

from awspatterns.sandbox.ports import free_port
from awspatterns.sandbox.rds import postgres
from awspatterns.sandbox.rds.postgres import PostgresServers


def secret_field(key):
    """CDK's dynamic reference to a field of the generated secret."""
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Secret"}, f":SecretString:{key}::}}}}"]]}


# The shape CDK synthesizes for rds.DatabaseCluster with Credentials.fromGeneratedSecret and enableDataApi.
TEMPLATE = {
    "Resources": {
        "Secret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "GenerateSecretString": {
                    "ExcludeCharacters": " %+~`#$&*()|[]{}:;<>?!'/@\"\\",
                    "GenerateStringKey": "password",
                    "PasswordLength": 30,
                    "SecretStringTemplate": '{"username":"app_admin"}',
                }
            },
        },
        "Cluster": {
            "Type": "AWS::RDS::DBCluster",
            "Properties": {
                "Engine": "aurora-postgresql",
                "EngineVersion": "16.4",
                "DatabaseName": "orders",
                "EnableHttpEndpoint": True,
                "MasterUsername": secret_field("username"),
                "MasterUserPassword": secret_field("password"),
                "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 2},
                "StorageEncrypted": True,
            },
        },
        "Writer": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "DBClusterIdentifier": {"Ref": "Cluster"},
                "DBInstanceClass": "db.serverless",
                "Engine": "aurora-postgresql",
            },
        },
        "Attachment": {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            "Properties": {
                "SecretId": {"Ref": "Secret"},
                "TargetId": {"Ref": "Cluster"},
                "TargetType": "AWS::RDS::DBCluster",
            },
        },
    },
    "Outputs": {
        "ClusterArn": {"Value": {"Fn::GetAtt": ["Cluster", "DBClusterArn"]}},
        "Host": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}},
        "Port": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Port"]}},
        "SecretArn": {"Value": {"Ref": "Attachment"}},
    },
}


@pytest.fixture(scope="module")
def database(sandbox):
    session = sandbox.session("401000000001")
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName="database", TemplateBody=json.dumps(TEMPLATE))
    stack = cloudformation.describe_stacks(StackName="database")["Stacks"][0]
    events = cloudformation.describe_stack_events(StackName="database")["StackEvents"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", [e.get("ResourceStatusReason") for e in events]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    yield session, outputs
    cloudformation.delete_stack(StackName="database")


@pytest.fixture
def sql(database):
    session, outputs = database
    data = session.client("rds-data")

    def run(statement, parameters=(), **extra):
        return data.execute_statement(
            resourceArn=outputs["ClusterArn"],
            secretArn=outputs["SecretArn"],
            database="orders",
            sql=statement,
            parameters=list(parameters),
            **extra,
        )

    return run


def test_the_cluster_is_a_real_postgresql_server_with_the_secrets_credentials(database):
    session, outputs = database
    secret = json.loads(
        session.client("secretsmanager").get_secret_value(SecretId=outputs["SecretArn"])["SecretString"]
    )
    assert secret["username"] == "app_admin" and len(secret["password"]) == 30
    assert (secret["host"], str(secret["port"]), secret["dbname"]) == (outputs["Host"], outputs["Port"], "orders")
    with psycopg.connect(
        host=secret["host"], port=secret["port"], user=secret["username"], password=secret["password"], dbname="orders"
    ) as connection:
        assert connection.execute("select current_user, current_database()").fetchone() == ("app_admin", "orders")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=secret["host"], port=secret["port"], user="app_admin", password="wrong", dbname="orders")
    cluster = session.client("rds").describe_db_clusters()["DBClusters"][0]
    assert cluster["Endpoint"] == outputs["Host"] and cluster["HttpEndpointEnabled"] is True
    [writer] = session.client("rds").describe_db_instances()["DBInstances"]
    assert writer["DBClusterIdentifier"] == cluster["DBClusterIdentifier"] and writer["Engine"] == "aurora-postgresql"


def test_data_api_executes_parameterised_sql_with_typed_fields(sql):
    sql(
        "create table if not exists items (id uuid primary key, name text not null, price numeric(8,2), "
        "qty int, ok boolean, seen timestamp, tags text[], note text)"
    )
    inserted = sql(
        "insert into items values (:id, :name, :price, :qty, :ok, :seen, '{a,b}', :note)",
        [
            {"name": "id", "value": {"stringValue": "6f1c1c0e-8a1b-4a53-9a55-1f0f5d5e9c01"}, "typeHint": "UUID"},
            {"name": "name", "value": {"stringValue": "it's 100% café"}},
            {"name": "price", "value": {"stringValue": "12.50"}, "typeHint": "DECIMAL"},
            {"name": "qty", "value": {"longValue": 3}},
            {"name": "ok", "value": {"booleanValue": True}},
            {"name": "seen", "value": {"stringValue": "2026-11-28 10:00:00"}, "typeHint": "TIMESTAMP"},
            {"name": "note", "value": {"isNull": True}},
        ],
    )
    assert inserted["numberOfRecordsUpdated"] == 1
    result = sql(
        "select id, name, price, qty, ok, seen, tags, note, qty::float / 2 as half, ':qty' as literal from items",
        includeResultMetadata=True,
    )
    assert result["records"] == [
        [
            {"stringValue": "6f1c1c0e-8a1b-4a53-9a55-1f0f5d5e9c01"},
            {"stringValue": "it's 100% café"},
            {"stringValue": "12.50"},
            {"longValue": 3},
            {"booleanValue": True},
            {"stringValue": "2026-11-28 10:00:00"},
            {"arrayValue": {"stringValues": ["a", "b"]}},
            {"isNull": True},
            {"doubleValue": 1.5},
            {"stringValue": ":qty"},
        ]
    ]
    metadata = {c["name"]: c for c in result["columnMetadata"]}
    assert metadata["qty"]["typeName"] == "int4" and metadata["qty"]["type"] == 4
    assert metadata["name"]["typeName"] == "text" and metadata["price"]["typeName"] == "numeric"
    formatted = sql("select name, qty from items", formatRecordsAs="JSON")
    assert json.loads(formatted["formattedRecords"]) == [{"name": "it's 100% café", "qty": 3}]


def test_data_api_batches_and_transactions(database, sql):
    session, outputs = database
    data = session.client("rds-data")
    target = {"resourceArn": outputs["ClusterArn"], "secretArn": outputs["SecretArn"], "database": "orders"}
    sql("create table if not exists ledger (n int)")
    batch = data.batch_execute_statement(
        **target,
        sql="insert into ledger values (:n) returning n",
        parameterSets=[[{"name": "n", "value": {"longValue": n}}] for n in (1, 2, 3)],
    )
    assert [r["generatedFields"] for r in batch["updateResults"]] == [[{"longValue": n}] for n in (1, 2, 3)]

    rolled_back = data.begin_transaction(**target)["transactionId"]
    sql("insert into ledger values (100)", transactionId=rolled_back)
    assert (
        data.rollback_transaction(
            resourceArn=outputs["ClusterArn"], secretArn=outputs["SecretArn"], transactionId=rolled_back
        )["transactionStatus"]
        == "Rollback Complete"
    )
    committed = data.begin_transaction(**target)["transactionId"]
    sql("insert into ledger values (4)", transactionId=committed)
    assert sql("select count(*) from ledger")["records"] == [[{"longValue": 3}]]  # not visible outside yet
    data.commit_transaction(resourceArn=outputs["ClusterArn"], secretArn=outputs["SecretArn"], transactionId=committed)
    assert sql("select sum(n) from ledger")["records"] == [[{"longValue": 10}]]


@pytest.mark.parametrize(
    "statement, parameters, message",
    [
        ("select * from no_such_table", [], 'relation "no_such_table" does not exist'),
        ("select :missing", [], "No value specified for parameter: missing"),
        ("select :n", [{"name": "n", "value": {"arrayValue": {"longValues": [1]}}}], "Array parameters"),
        ("select :n", [{"name": "n", "value": {"stringValue": "x"}, "typeHint": "MONEY"}], "Unknown type hint"),
    ],
)
def test_data_api_errors_are_bad_requests_with_the_database_message(sql, statement, parameters, message):
    with pytest.raises(ClientError) as raised:
        sql(statement, parameters)
    assert raised.value.response["Error"]["Code"] == "BadRequestException"
    assert message in raised.value.response["Error"]["Message"]


def test_data_api_refuses_a_secret_with_the_wrong_password_and_unknown_transactions(database):
    session, outputs = database
    wrong = session.client("secretsmanager").create_secret(
        Name="wrong", SecretString=json.dumps({"username": "app_admin", "password": "not-it"})
    )["ARN"]
    data = session.client("rds-data")
    with pytest.raises(ClientError, match="password authentication failed"):
        data.execute_statement(resourceArn=outputs["ClusterArn"], secretArn=wrong, sql="select 1")
    with pytest.raises(ClientError, match="is not found"):
        data.commit_transaction(resourceArn=outputs["ClusterArn"], secretArn=wrong, transactionId="nope")


def test_deleting_the_stack_stops_the_server_and_removes_everything(sandbox):
    session = sandbox.session("401000000002")
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(StackName="database", TemplateBody=json.dumps(TEMPLATE))
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName="database")["Stacks"][0]["Outputs"]
    }
    cloudformation.delete_stack(StackName="database")
    assert session.client("rds").describe_db_clusters()["DBClusters"] == []
    assert session.client("rds").describe_db_instances()["DBInstances"] == []
    assert session.client("secretsmanager").list_secrets()["SecretList"] == []
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(outputs["Port"])), timeout=1):
        pass


# ------------------------------------------------------------------ a start that fails leaves nothing behind
@pytest.fixture
def servers_root():
    """A root the servers' OS user can reach (under root, PostgreSQL runs as ``pgserver``; pytest's own temporary
    directories are private to the user running the tests)."""
    parent = Path(tempfile.mkdtemp(prefix="awspatterns-rds-test-"))
    parent.chmod(0o755)
    yield parent / "rds"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def servers(servers_root):
    """Servers of this test alone, in the sandbox's own code but outside a sandbox process."""
    servers = PostgresServers(servers_root)
    yield servers
    servers.shutdown()


def test_a_failed_initdb_leaves_no_password_file_or_data_directory(servers, servers_root):
    with pytest.raises(RuntimeError, match=r'initdb failed: .*"pg_admin"'):
        servers.start("k", "cluster", "pg_admin", "secret", None)  # PostgreSQL reserves the pg_ prefix for roles
    assert list(servers_root.iterdir()) == []
    assert servers.get("k") is None


def test_a_server_that_cannot_listen_leaves_nothing(servers, servers_root, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(postgres, "free_port", lambda: taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="pg_ctl failed"):
            servers.start("k", "cluster", "admin", "secret", None)
    assert list(servers_root.iterdir()) == []
    assert servers.get("k") is None


def test_a_database_that_cannot_be_created_stops_the_server_and_leaves_nothing(servers, servers_root, monkeypatch):
    ports: list[int] = []

    def remembered_port() -> int:
        ports.append(free_port())
        return ports[-1]

    monkeypatch.setattr(postgres, "free_port", remembered_port)
    with pytest.raises(psycopg.Error):
        servers.start("k", "cluster", "admin", "secret", 'not"valid')
    assert list(servers_root.iterdir()) == []
    assert servers.get("k") is None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", ports[0]), timeout=1):
        pass
