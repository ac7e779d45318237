"""Aurora PostgreSQL in the sandbox, as one subsystem: a real PostgreSQL server per cluster created in
CloudFormation (``cloudformation``), and the Data API running SQL on it (``data_api``)."""

from __future__ import annotations

from awspatterns.sandbox.cloudformation.registry import register
from awspatterns.sandbox.rds import cloudformation, data_api
from awspatterns.sandbox.rds.data_api import DataApi
from awspatterns.sandbox.rds.postgres import PostgresServers
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "install"]

PATCHED: Patched = (*cloudformation.PATCHED, *data_api.PATCHED)


def install(engine: Engine) -> None:
    """Give the engine PostgreSQL servers and a Data API, and CloudFormation the types that create them."""
    postgres = PostgresServers()
    api = DataApi(postgres)
    cloudformation.install(postgres)
    data_api.install(api)
    register(cloudformation.MODELS)
    engine.add_component(api)  # connections close before their servers stop
    engine.add_component(postgres)
