"""Glue Data Catalog resource types moto 5.2.5 lacks in CloudFormation: ``AWS::Glue::Database`` and
``AWS::Glue::Table`` (created in moto's Glue catalog, so ``GetDatabase``/``GetTable`` describe them; ``Ref`` is the
name, as in AWS). The sandbox runs no query engine: Athena reads such tables only in AWS."""

from __future__ import annotations

import contextlib
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.glue.models import glue_backends

from awspatterns.sandbox.cloudformation.base import SandboxModel

__all__ = ["MODELS", "GlueDatabase", "GlueTable"]


class GlueDatabase(SandboxModel, CloudFormationModel):
    """``AWS::Glue::Database``: its ``DatabaseInput`` in the account's catalog."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Database"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> GlueDatabase:
        properties = cloudformation_json["Properties"]
        database_input = dict(properties.get("DatabaseInput") or {})
        name = database_input.get("Name") or resource_name.lower()
        database_input["Name"] = name
        glue_backends[account_id][region_name].create_database(name, database_input)
        return cls(name, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            glue_backends[self.account_id][self.region_name].delete_database(self.physical_resource_id)


class GlueTable(SandboxModel, CloudFormationModel):
    """``AWS::Glue::Table``: its ``TableInput`` in a database of the account's catalog."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Table"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> GlueTable:
        properties = cloudformation_json["Properties"]
        table_input = dict(properties.get("TableInput") or {})
        name = table_input.get("Name") or resource_name.lower()
        table_input["Name"] = name
        glue_backends[account_id][region_name].create_table(properties["DatabaseName"], name, table_input)
        return cls(name, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the database may have gone first
            glue_backends[self.account_id][self.region_name].delete_table(
                self.properties["DatabaseName"], self.physical_resource_id
            )


MODELS = (GlueDatabase, GlueTable)
