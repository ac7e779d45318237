"""api-postgres-vpc end to end: in a fresh sandbox account, with IAM enforced, bad requests are refused and change
no row; items are created, read, replaced, paged through and deleted over the function's kept connection; the
connection is ended on the server and, after a rotation of the secret, ended again, and each time the next request
succeeds on a new connection; the psycopg repository keeps the items contract on the real PostgreSQL; nothing is
left behind."""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from awspatterns.shared_handlers import ROOT as SHARED_HANDLERS

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))  # the repository contract shared by the stores
sys.path.insert(0, str(SHARED_HANDLERS))  # items_api, as the function finds it in its asset
from items_contract import ItemsRepositoryContract

pytestmark = pytest.mark.e2e


def function_log(deployed: Any) -> str:
    """Everything the items function logged (its block's log group, ``ItemsLogs...``)."""
    stack = deployed.session.client("cloudformation").describe_stack_resources(StackName="ApiPostgresVpc")
    [group] = [
        r["PhysicalResourceId"]
        for r in stack["StackResources"]
        if r["ResourceType"] == "AWS::Logs::LogGroup" and r["LogicalResourceId"].startswith("ItemsLogs")
    ]
    pages = deployed.session.client("logs").get_paginator("filter_log_events").paginate(logGroupName=group)
    return "\n".join(event["message"] for page in pages for event in page["events"])


# --8<-- [start:e2e]
def test_bad_requests_change_no_row_and_items_survive_a_dropped_connection_and_a_rotation(deploy_pattern):
    deployed = deploy_pattern("api-postgres-vpc")
    report = deployed.run_client()

    refused = report["refused"]
    assert {name: r["status"] for name, r in refused.items()} == {
        **{name: 400 for name in refused},
        "oversized body": 413,
        "unknown id (read)": 404,
        "unknown id (replace)": 404,
        "unknown id (delete)": 404,
    }
    assert all(r["message"] for r in refused.values()), refused
    assert report["rows_unchanged_by_refusals"]
    assert report["created"][-1]["name"] == "Robert'); DROP TABLE items; --"  # stored as text
    assert report["read"] == (200, report["created"][0])
    assert report["replaced"][0] == 200 and report["replaced"][1]["quantity"] == 7
    paged = [item_id for page in report["pages"] for item_id in page]
    assert sorted(paged) == sorted(item["id"] for item in report["created"])  # every item once, in id order
    assert paged == sorted(paged) and [len(p) for p in report["pages"]] == [2, 2, 1]
    assert report["deleted"] == 204 and report["read_after_delete"]["status"] == 404
    assert report["rows"] == 4

    # The server ended the function's connection: the next request succeeded on a new one.
    dropped = report["terminated"]
    assert dropped["connections_before"] and dropped["ended"] == len(dropped["connections_before"])
    assert dropped["answer"] == {"status": 200}
    assert dropped["connections_after"] and not set(dropped["connections_after"]) & set(dropped["connections_before"])
    # The secret rotated, the connection was ended again: the function signed in with the new password.
    rotated = report["rotated"]
    assert rotated["done"]["current_version"] != rotated["done"]["previous_version"]
    assert rotated["ended"] >= 1 and rotated["answer"] == {"status": 201}
    assert rotated["connections_after"] and not set(rotated["connections_after"]) & set(rotated["connections_before"])
    assert report["rows_after_drills"] == 5
    log = function_log(deployed)
    assert "connection lost before commit: retrying on a new one" in log
    assert "password refused: reading the secret again" in log

    outputs = deployed.flat_outputs
    assert outputs["ItemsParameterPath"] == "/serverless-patterns/postgres-vpc/database"
    assert outputs["ItemsSecurityGroupId"].startswith("sg-")
    deployed.record_permissions()  # what the function's role was granted and what this run used, on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def database_of(deployed: Any, handler_loader: Any) -> tuple[Any, Any, Any]:
    """The postgres module and a ``Database`` connecting as the function does, to the deployed cluster."""
    postgres = handler_loader("api-postgres-vpc", "items.postgres")
    ssm, secrets = deployed.session.client("ssm"), deployed.session.client("secretsmanager")
    found = ssm.get_parameters_by_path(Path=deployed.flat_outputs["ItemsParameterPath"])["Parameters"]
    values = {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in found}
    endpoint = postgres.Endpoint(values["endpoint"], int(values["port"]), values["database-name"], values["secret-arn"])

    def credentials(secret_arn: str, fresh: bool) -> Any:
        secret = json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
        return postgres.Credentials(secret["username"], secret["password"])

    return postgres, endpoint, credentials


# --8<-- [start:contract]
def test_the_psycopg_repository_keeps_the_items_contract_on_real_postgresql(deploy_pattern, handler_loader):
    """The suite every ``ItemsRepository`` passes (tests/examples/items_contract.py), here over psycopg to the
    sandbox's real PostgreSQL; then the connection's guarantees, against the real server."""
    deployed = deploy_pattern("api-postgres-vpc")
    postgres, endpoint, credentials = database_of(deployed, handler_loader)
    models = sys.modules["items_api.repository"]

    database = postgres.Database(lambda: endpoint, credentials)
    repository = postgres.PostgresItems(database)
    for _ in range(3):  # concurrent first requests, each on its own connection, released together
        database.run(lambda c: c.execute("DROP TABLE IF EXISTS items"), idempotent=True)
        first_requests = [postgres.Database(lambda: endpoint, credentials) for _ in range(4)]
        for other in first_requests:
            other.connection()
        together = threading.Barrier(len(first_requests))

        def migrate(other: Any, together: threading.Barrier = together) -> None:
            together.wait()
            postgres.PostgresItems(other).migrate()

        with ThreadPoolExecutor(max_workers=len(first_requests)) as pool:
            list(pool.map(migrate, first_requests))
        for other in first_requests:
            other.discard()
    repository.migrate()  # idempotent
    contract = ItemsRepositoryContract()
    cases = [name for name in dir(contract) if name.startswith("test_")]
    for name in cases:
        database.run(lambda c: c.execute("DELETE FROM items"), idempotent=True)
        getattr(contract, name)(repository, models)
    assert len(cases) == 4 and database.opened == 1  # one connection for all of it

    # Timeouts are set on the server, per connection; a statement over the limit is cancelled by PostgreSQL.
    settings = database.run(
        lambda c: c.execute(
            "SELECT current_setting('statement_timeout'), application_name FROM pg_stat_activity "
            "WHERE pid = pg_backend_pid()"
        ).fetchone(),
        idempotent=True,
    )
    assert settings == ("5s", "api-postgres-vpc items")
    with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
        database.run(lambda c: c.execute("SELECT pg_sleep(6)"), idempotent=True)

    # The server ends the connection: the next unit of work runs on a new one, and a create is not lost.
    kept = repository.create(models.NewItem(name="kept", quantity=1))
    with psycopg.connect(**connection_arguments(postgres, endpoint, credentials)) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s AND pid <> "
            "pg_backend_pid()",
            ("api-postgres-vpc items",),
        ).fetchone()
    assert ended == (1,)
    assert repository.get(kept.id) == kept and database.opened == 2
    # A stale password (a rotation since the secret was read) is refused by the real server; read again, it works.
    reads: list[bool] = []

    def stale_then_fresh(secret_arn: str, fresh: bool) -> Any:
        reads.append(fresh)
        return credentials(secret_arn, fresh) if fresh else postgres.Credentials("app_admin", "an old password")

    stale = postgres.PostgresItems(postgres.Database(lambda: endpoint, stale_then_fresh))
    assert stale.get(kept.id) == kept and reads == [False, True]
    database.discard()
    assert deployed.destroy() == {}


# --8<-- [end:contract]


def connection_arguments(postgres: Any, endpoint: Any, credentials: Any) -> dict[str, Any]:
    secret = credentials(endpoint.secret_arn, True)
    return {
        "host": endpoint.host,
        "port": endpoint.port,
        "dbname": endpoint.database,
        "user": secret.user,
        "password": secret.password,
        "autocommit": True,
    }
