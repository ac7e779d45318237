"""Secrets Manager and Aurora PostgreSQL in CloudFormation, backed by real PostgreSQL servers.

moto 5.2.5 has no ``AWS::SecretsManager::Secret``, ``SecretTargetAttachment`` or ``AWS::RDS::DBCluster`` in
CloudFormation, resolves no ``{{resolve:...}}`` dynamic references, and its ``AWS::RDS::DBInstance`` fails for
cluster members (no default Aurora engine version). Here a cluster is created in moto's RDS backend (so
``DescribeDBClusters`` answers) *and* gets its own PostgreSQL server with the master credentials; its endpoint
is that server's address.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, ClassVar

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.rds.models import DBCluster, DBInstance, rds_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends

from awspatterns.sandbox.cloudformation.base import SandboxModel, cfn_bool, policy_json
from awspatterns.sandbox.errors import SandboxUnsupported
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.rds.postgres import BUNDLED_MAJOR, PostgresServers, cluster_key

__all__ = ["MODELS", "PATCHED", "install", "resolve_dynamic_references"]

#: The moto internals this module replaces (checked by the canary tests).
PATCHED = (
    (DBInstance, "create_from_cloudformation_json"),
    (DBCluster, "endpoint"),
    (parsing, "parse_resource"),
)

DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(?P<service>secretsmanager|ssm):(?P<reference>[^}]*)\}\}")
DATABASE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


# ------------------------------------------------------------------ dynamic references
def resolve_dynamic_references(value: Any, account_id: str, region_name: str) -> Any:
    """Replace ``{{resolve:secretsmanager:id:SecretString:key::}}`` and ``{{resolve:ssm:name}}`` in a template
    value, as CloudFormation does before it creates a resource."""
    if isinstance(value, dict):
        return {k: resolve_dynamic_references(v, account_id, region_name) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_dynamic_references(v, account_id, region_name) for v in value]
    if not isinstance(value, str) or "{{resolve:" not in value:
        return value

    def resolve(match: re.Match[str]) -> str:
        if match["service"] == "ssm":
            name = match["reference"].split(":")[0]
            parameter = ssm_backends[account_id][region_name].get_parameter(name)
            if parameter is None:
                raise SandboxUnsupported(f"dynamic reference to a missing SSM parameter {name}")
            return str(parameter.value)
        # secret-id may itself be an ARN (with colons): the last 4 fields are SecretString:key:stage:version
        parts = match["reference"].split(":")
        if len(parts) >= 5 and "SecretString" in parts:
            index = len(parts) - 1 - parts[::-1].index("SecretString")
            secret_id, key = ":".join(parts[:index]), (parts[index + 1] if index + 1 < len(parts) else "")
        else:
            secret_id, key = match["reference"], ""
        secret = secretsmanager_backends[account_id][region_name].get_secret_value(secret_id, "", "AWSCURRENT")
        text = secret.get("SecretString") or ""
        return str(json.loads(text)[key]) if key else text

    return DYNAMIC_REFERENCE.sub(resolve, value)


# ------------------------------------------------------------------ Secrets Manager
class SecretsManagerSecret(SandboxModel, CloudFormationModel):
    """``AWS::SecretsManager::Secret`` with ``SecretString`` or ``GenerateSecretString``; ``Ref`` is the ARN."""

    ATTRIBUTES = ("Id",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SecretsManagerSecret:
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        secret_string = properties.get("SecretString")
        generate = properties.get("GenerateSecretString")
        if generate is not None:
            password = backend.get_random_password(
                password_length=int(generate.get("PasswordLength", 32)),
                exclude_characters=generate.get("ExcludeCharacters", ""),
                exclude_numbers=cfn_bool(generate.get("ExcludeNumbers")),
                exclude_punctuation=cfn_bool(generate.get("ExcludePunctuation")),
                exclude_uppercase=cfn_bool(generate.get("ExcludeUppercase")),
                exclude_lowercase=cfn_bool(generate.get("ExcludeLowercase")),
                include_space=cfn_bool(generate.get("IncludeSpace")),
                require_each_included_type=generate.get("RequireEachIncludedType", True) not in (False, "false"),
            )
            password = json.loads(password)["RandomPassword"] if password.startswith("{") else password
            if generate.get("SecretStringTemplate"):
                document = json.loads(generate["SecretStringTemplate"])
                document[generate["GenerateStringKey"]] = password
                secret_string = json.dumps(document)
            else:
                secret_string = password
        arn = json.loads(
            backend.create_secret(
                name=properties.get("Name") or resource_name,
                secret_string=secret_string,
                secret_binary=None,
                description=properties.get("Description"),
                tags=properties.get("Tags"),
                kms_key_id=properties.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )["ARN"]
        return cls(arn, properties, account_id, region_name)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    def _delete(self) -> None:
        with contextlib.suppress(Exception):
            secretsmanager_backends[self.account_id][self.region_name].delete_secret(
                self.physical_resource_id, None, True
            )


class SecretsManagerSecretTargetAttachment(SandboxModel, CloudFormationModel):
    """``AWS::SecretsManager::SecretTargetAttachment``: adds the cluster's connection fields to its secret."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::SecretTargetAttachment"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SecretsManagerSecretTargetAttachment:
        properties = cloudformation_json["Properties"]
        if properties.get("TargetType") != "AWS::RDS::DBCluster":
            raise SandboxUnsupported(f"secret attachments to {properties.get('TargetType')} are not modelled")
        cluster = rds_backends[account_id][region_name].describe_db_clusters(properties["TargetId"])[0]
        backend = secretsmanager_backends[account_id][region_name]
        secret_id = properties["SecretId"]
        document = json.loads(backend.get_secret_value(secret_id, "", "AWSCURRENT")["SecretString"])
        document.update(
            engine="postgres",
            host=cluster.endpoint,
            port=int(cluster.port),
            dbClusterIdentifier=cluster.db_cluster_identifier,
        )
        if cluster.database_name:
            document["dbname"] = cluster.database_name
        backend.put_secret_value(secret_id, json.dumps(document), "", "", ["AWSCURRENT"])
        return cls(secret_id, properties, account_id, region_name)

    def _delete(self) -> None:
        pass


class SecretsManagerResourcePolicy(SandboxModel, CloudFormationModel):
    """``AWS::SecretsManager::ResourcePolicy``: the secret's resource policy; ``Ref`` is the secret's ARN."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::ResourcePolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SecretsManagerResourcePolicy:
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        arn = backend.describe_secret(properties["SecretId"]).to_dict()["ARN"]
        backend.put_resource_policy(arn, policy_json(properties["ResourcePolicy"]))
        return cls(arn, properties, account_id, region_name)

    def _delete(self) -> None:
        with contextlib.suppress(Exception):  # the secret may have gone first
            secretsmanager_backends[self.account_id][self.region_name].delete_resource_policy(self.physical_resource_id)


# ------------------------------------------------------------------ Aurora PostgreSQL
class RdsDbCluster(SandboxModel, CloudFormationModel):
    """``AWS::RDS::DBCluster`` for ``aurora-postgresql``: a real PostgreSQL server with the master credentials."""

    ATTRIBUTES = ("Endpoint.Address", "Endpoint.Port", "ReadEndpoint.Address", "DBClusterArn", "DBClusterResourceId")
    #: The engine's PostgreSQL servers, one per cluster (bound by :func:`install`).
    postgres: ClassVar[PostgresServers]

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBCluster"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> RdsDbCluster:
        properties = cloudformation_json["Properties"]
        engine = properties.get("Engine", "")
        if engine != "aurora-postgresql":
            raise SandboxUnsupported(f"cluster engine {engine!r} is not run by the sandbox (aurora-postgresql is)")
        database = properties.get("DatabaseName")
        if database is not None and not DATABASE_NAME.match(database):
            raise SandboxUnsupported(f"invalid DatabaseName {database!r}")
        identifier = (properties.get("DBClusterIdentifier") or resource_name).lower()[:63]
        username, password = properties.get("MasterUsername"), properties.get("MasterUserPassword")
        if not username or not password:
            raise SandboxUnsupported("a cluster needs MasterUsername and MasterUserPassword in the sandbox")
        server = cls.postgres.start(
            cluster_key(account_id, region_name, identifier), identifier, username, password, database
        )
        try:
            cluster = rds_backends[account_id][region_name].create_db_cluster(
                {
                    "db_cluster_identifier": identifier,
                    "engine": engine,
                    "engine_version": properties.get("EngineVersion") or f"{BUNDLED_MAJOR}.4",
                    "master_username": username,
                    "master_user_password": password,
                    "database_name": database,
                    "port": server.port,
                    "db_subnet_group_name": properties.get("DBSubnetGroupName"),
                    "vpc_security_group_ids": properties.get("VpcSecurityGroupIds", []),
                    "storage_encrypted": cfn_bool(properties.get("StorageEncrypted")),
                    "kms_key_id": properties.get("KmsKeyId"),
                    "deletion_protection": False,
                    "tags": properties.get("Tags"),
                }
            )
        except Exception:
            cls.postgres.stop(cluster_key(account_id, region_name, identifier))  # no server without its cluster
            raise
        cluster._enable_http_endpoint = cfn_bool(properties.get("EnableHttpEndpoint"))
        cluster._sandbox_host = server.host  # type: ignore[attr-defined]
        cluster.status = "available"
        model = cls(identifier, properties, account_id, region_name)
        model.arn, model.port, model.host = cluster.db_cluster_arn, server.port, server.host
        model.resource_id = cluster.db_cluster_resource_id  # random, as on AWS: a replaced cluster gets a new one
        return model

    arn: str
    port: int
    host: str
    resource_id: str

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in ("Endpoint.Address", "ReadEndpoint.Address"):
            return self.host
        if attribute_name == "Endpoint.Port":
            return str(self.port)
        if attribute_name == "DBClusterArn":
            return self.arn
        return self.resource_id

    def _delete(self) -> None:
        backend = rds_backends[self.account_id][self.region_name]
        with contextlib.suppress(Exception):  # instances may be deleted by the stack first, or not
            for instance in list(backend.databases.values()):
                if getattr(instance, "db_cluster_identifier", None) == self.physical_resource_id:
                    backend.delete_db_instance(instance.db_instance_identifier)
            backend.delete_db_cluster(self.physical_resource_id)
        # As on AWS, the cluster's automated backups go with it (moto kept them, so a cluster created again under
        # the same name within the minute collided with its predecessor's automated snapshot).
        for name, snapshot in list(backend.cluster_snapshots.items()):
            if (
                snapshot.snapshot_type == "automated"
                and snapshot.cluster.db_cluster_identifier == self.physical_resource_id
            ):
                del backend.cluster_snapshots[name]
        self.postgres.stop(cluster_key(self.account_id, self.region_name, self.physical_resource_id))


MODELS = (SecretsManagerSecret, SecretsManagerSecretTargetAttachment, SecretsManagerResourcePolicy, RdsDbCluster)


def install(postgres: PostgresServers) -> None:
    """Resolve dynamic references, make cluster members creatable and cluster endpoints local; clusters get their
    PostgreSQL servers from ``postgres``."""
    RdsDbCluster.postgres = postgres
    original_parse = parsing.parse_resource
    original_instance = DBInstance.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_endpoint: Any = DBCluster.endpoint

    def parse_resource(resource_json: dict[str, Any], resources_map: Any) -> Any:
        parsed = original_parse(resource_json, resources_map)
        if parsed:
            resource_class, cleaned, resource_type = parsed
            account, region = resources_map._account_id, resources_map._region_name
            parsed = (resource_class, resolve_dynamic_references(cleaned, account, region), resource_type)
        return parsed

    def create_instance(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        backend = rds_backends[account_id][region_name]
        cluster_id = properties.get("DBClusterIdentifier")
        if not cluster_id:
            subnet_group = properties.get("DBSubnetGroupName")
            if isinstance(subnet_group, str):  # moto's own code expects the subnet group object a Ref used to give
                properties["DBSubnetGroupName"] = backend.subnet_groups[subnet_group]
            return original_instance(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        cluster = backend.describe_db_clusters(cluster_id)[0]
        return backend.create_db_instance(
            {
                "db_instance_identifier": (properties.get("DBInstanceIdentifier") or resource_name).lower()[:63],
                "db_cluster_identifier": cluster.db_cluster_identifier,
                "engine": cluster.engine,
                "engine_version": cluster.engine_version,
                "db_instance_class": properties.get("DBInstanceClass", "db.serverless"),
                "publicly_accessible": cfn_bool(properties.get("PubliclyAccessible")),
            }
        )

    replace(parsing, "parse_resource", parse_resource)
    replace(DBInstance, "create_from_cloudformation_json", classmethod(create_instance))
    replace(
        DBCluster,
        "endpoint",
        property(lambda cluster: getattr(cluster, "_sandbox_host", None) or original_endpoint.fget(cluster)),
    )
