"""api-data-api end to end: in a fresh sandbox account, with IAM enforced, bad requests are refused and change no
row; items are created, read, replaced, paged through and deleted through the Data API; nothing is left behind."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from awspatterns.shared_handlers import ROOT as SHARED_HANDLERS

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))  # the repository contract shared by the stores
sys.path.insert(0, str(SHARED_HANDLERS))  # items_api, as the function finds it in its asset
from items_contract import ItemsRepositoryContract

pytestmark = pytest.mark.e2e


# --8<-- [start:e2e]
def test_bad_requests_change_no_row_and_items_round_trip_through_the_data_api(deploy_pattern):
    deployed = deploy_pattern("api-data-api")
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
    assert report["replaced"][1]["price"] == "24.50"
    paged = [item_id for page in report["pages"] for item_id in page]
    assert sorted(paged) == sorted(item["id"] for item in report["created"])  # every item once, in id order
    assert paged == sorted(paged) and [len(p) for p in report["pages"]] == [2, 2, 1]
    assert report["deleted"] == 204 and report["read_after_delete"]["status"] == 404
    assert report["rows"] == 4
    outputs = deployed.flat_outputs
    assert outputs["ItemsParameterPath"] == "/serverless-patterns/data-api/database"
    assert outputs["ClusterArn"].endswith(":cluster:awspatterns-data-api") and outputs["DatabaseName"] == "catalog"
    deployed.record_permissions()  # what the function's role was granted and what this run used, on the page
    assert deployed.destroy() == {}


# --8<-- [end:e2e]


def test_the_data_api_repository_keeps_the_items_contract_on_real_postgresql(deploy_pattern, handler_loader):
    """The suite every ``ItemsRepository`` passes (tests/examples/items_contract.py), here through the sandbox's
    Data API to its real PostgreSQL; each case starts from an empty table."""
    deployed = deploy_pattern("api-data-api")
    outputs = deployed.flat_outputs
    data_api = handler_loader("api-data-api", "items.data_api")
    models = sys.modules["items_api.repository"]
    client = deployed.session.client("rds-data")
    where = data_api.Location(outputs["ClusterArn"], outputs["SecretArn"], outputs["DatabaseName"])
    repository = data_api.DataApiItems(client, where)
    with ThreadPoolExecutor(max_workers=4) as pool:  # concurrent first requests: the lock serialises them
        list(pool.map(lambda _: repository.migrate(), range(4)))
    repository.migrate()  # idempotent
    contract = ItemsRepositoryContract()
    cases = [name for name in dir(contract) if name.startswith("test_")]
    for name in cases:
        client.execute_statement(
            resourceArn=where.cluster_arn, secretArn=where.secret_arn, database=where.database, sql="DELETE FROM items"
        )
        getattr(contract, name)(repository, models)
    assert len(cases) == 4
    assert deployed.destroy() == {}
