"""Aurora PostgreSQL in the sandbox, as one subsystem: a real PostgreSQL server per cluster created in
CloudFormation (``cloudformation``), the Data API running SQL on it (``data_api``), and its secret's hosted
rotation (``rotation``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from moto.cloudformation import parsing

from awspatterns.sandbox.cloudformation.registry import register
from awspatterns.sandbox.rds import cloudformation, data_api, rotation
from awspatterns.sandbox.rds.data_api import DataApi
from awspatterns.sandbox.rds.postgres import PostgresServers
from awspatterns.sandbox.subsystem import Engine, Patched, Reads, fields

__all__ = ["PATCHED", "READS", "ROOT_RECORD", "data_root", "install"]

#: The file in the work directory that names a data root placed outside it (``control`` reaps what it names).
ROOT_RECORD = "rds-root"

PATCHED: Patched = (*cloudformation.PATCHED, *data_api.PATCHED, *rotation.PATCHED)
#: moto state read without patching it (dynamic references resolve in the stack's own account and region).
READS: Reads = fields(parsing.ResourceMap, "_account_id", "_region_name")


def install(engine: Engine) -> None:
    """Give the engine PostgreSQL servers and a Data API, and CloudFormation the types that create them."""
    postgres = PostgresServers(data_root(engine.work_dir))
    api = DataApi(postgres)
    cloudformation.install(postgres)
    data_api.install(api)
    rotation.install()
    register((*cloudformation.MODELS, *rotation.MODELS))
    engine.add_component(api)  # connections close before their servers stop
    engine.add_component(postgres)


def data_root(work_dir: Path) -> Path:
    """Where the clusters' data directories go: under the sandbox's work directory, so that a sandbox that
    crashed can be cleaned up from its home. PostgreSQL refuses to run as root, so under root the servers run as
    the ``pgserver`` user, who cannot traverse a private home: then the root is a temporary directory, and its path
    is recorded in the work directory's ``rds-root`` file for the same clean-up."""
    if os.geteuid() != 0:
        return work_dir / "rds"
    root = Path(tempfile.mkdtemp(prefix="awspatterns-rds-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / ROOT_RECORD).write_text(str(root))
    return root
