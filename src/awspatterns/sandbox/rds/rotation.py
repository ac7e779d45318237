"""Secret rotation: ``AWS::SecretsManager::RotationSchedule``, and Secrets Manager's hosted rotation for
PostgreSQL (single user) run against the sandbox's real servers.

moto 5.2.5 has no ``RotationSchedule`` in CloudFormation, and its ``RotateSecret`` only invokes a rotation
function you name. On AWS, ``HostedRotationLambda`` makes Secrets Manager deploy its own rotation function (the
``AWS::SecretsManager-2024-09-16`` transform); here the sandbox performs that function's four steps itself, as
AWS documents them for the single-user strategy:

1. ``createSecret``: a new password in a new version labelled ``AWSPENDING``;
2. ``setSecret``: ``ALTER USER ... PASSWORD`` on the database, signed in with the current credentials;
3. ``testSecret``: sign in with the pending credentials;
4. ``finishSecret``: ``AWSCURRENT`` moves to the new version (``AWSPREVIOUS`` marks the old one), and the
   rotation being over, no version stays ``AWSPENDING``.

A step that fails leaves ``AWSPENDING`` where it is and the current password in force, as a failed AWS rotation
does; the failure is logged (RotateSecret has already answered, as on AWS, where the function runs later).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
import time
import uuid
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend, secretsmanager_backends

from awspatterns.sandbox.cloudformation.base import SandboxModel, cfn_bool
from awspatterns.sandbox.errors import SandboxUnsupported
from awspatterns.sandbox.patching import replace

__all__ = [
    "HOSTED_ROTATION_TYPES",
    "MODELS",
    "PATCHED",
    "RotationSchedule",
    "install",
    "rotate_postgres_single_user",
    "rotation_days",
]

log = logging.getLogger("awspatterns.sandbox.rotation")

#: The moto internals this module replaces (checked by the canary tests).
PATCHED = ((SecretsManagerBackend, "rotate_secret"), (SecretsManagerBackend, "update_secret_version_stage"))
#: The hosted rotation types the sandbox runs.
HOSTED_ROTATION_TYPES = ("PostgreSQLSingleUser",)
#: What the hosted functions exclude from generated passwords by default.
EXCLUDED_CHARACTERS = "/@\"'\\"


def _hosted(backend: SecretsManagerBackend) -> dict[str, str]:
    """The secrets of one account and region that rotate with a hosted rotation: secret ARN -> rotation type."""
    if not hasattr(backend, "_sandbox_hosted_rotations"):
        backend._sandbox_hosted_rotations = {}  # type: ignore[attr-defined]
    return backend._sandbox_hosted_rotations  # type: ignore[attr-defined, no-any-return]


def _new_password(length: int = 32) -> str:
    alphabet = [c for c in string.ascii_letters + string.digits + string.punctuation if c not in EXCLUDED_CHARACTERS]
    return "".join(secrets.choice(alphabet) for _ in range(length))


def rotate_postgres_single_user(backend: SecretsManagerBackend, secret_id: str, version_id: str) -> None:
    """Run the four steps of the single-user strategy for ``secret_id``; the new version is ``version_id``.

    Raises:
        Exception: the step that failed; the secret then keeps its current password and its pending version.
    """
    import psycopg
    from psycopg import sql

    current = json.loads(backend.get_secret_value(secret_id, "", "AWSCURRENT")["SecretString"])
    pending = {**current, "password": _new_password()}
    backend.put_secret_value(secret_id, json.dumps(pending), "", version_id, ["AWSPENDING"])  # createSecret

    def connect(credentials: dict[str, Any]) -> Any:
        return psycopg.connect(
            host=credentials["host"],
            port=int(credentials["port"]),
            user=credentials["username"],
            password=credentials["password"],
            dbname=credentials.get("dbname", "postgres"),
            connect_timeout=5,
            autocommit=True,
        )

    with connect(current) as connection:  # setSecret
        connection.execute(
            sql.SQL("ALTER USER {} WITH PASSWORD {}").format(
                sql.Identifier(current["username"]), sql.Literal(pending["password"])
            )
        )
    with connect(pending) as connection:  # testSecret
        connection.execute("SELECT 1")
    current_version = backend.describe_secret(secret_id).to_dict()["VersionIdsToStages"]  # finishSecret
    old = next(v for v, stages in current_version.items() if "AWSCURRENT" in stages)
    backend.update_secret_version_stage(secret_id, "AWSCURRENT", old, version_id)
    backend.update_secret_version_stage(secret_id, "AWSPENDING", version_id, "")  # rotation over: no pending


def rotation_days(rules: dict[str, Any]) -> int | None:
    """The period of ``RotationRules``: ``AutomaticallyAfterDays``, or a ``rate(N days)`` schedule expression."""
    if rules.get("AutomaticallyAfterDays"):
        return int(rules["AutomaticallyAfterDays"])
    match = re.fullmatch(r"rate\((\d+) days?\)", str(rules.get("ScheduleExpression", "")).strip())
    if rules.get("ScheduleExpression") and match is None:
        raise SandboxUnsupported(f"rotation schedule {rules['ScheduleExpression']!r}: the sandbox reads rate(N days)")
    return int(match[1]) if match else None


class RotationSchedule(SandboxModel, CloudFormationModel):
    """``AWS::SecretsManager::RotationSchedule`` with a hosted rotation (run by the sandbox) or a rotation function
    of your own (invoked step by step, as moto's ``RotateSecret`` does). ``Ref`` is the secret's ARN."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::RotationSchedule"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> RotationSchedule:
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        secret_arn = backend.describe_secret(properties["SecretId"]).to_dict()["ARN"]
        hosted = properties.get("HostedRotationLambda")
        if hosted is not None:
            rotation_type = hosted.get("RotationType")
            if rotation_type not in HOSTED_ROTATION_TYPES:
                raise SandboxUnsupported(
                    f"hosted rotation {rotation_type!r} is not run by the sandbox ({', '.join(HOSTED_ROTATION_TYPES)})"
                )
            _hosted(backend)[secret_arn] = rotation_type
        elif not properties.get("RotationLambdaARN"):
            raise SandboxUnsupported(f"rotation schedule {resource_name} names no HostedRotationLambda or function")
        days = rotation_days(properties.get("RotationRules") or {})
        backend.rotate_secret(
            secret_arn,
            rotation_lambda_arn=properties.get("RotationLambdaARN"),
            rotation_rules={"AutomaticallyAfterDays": int(days)} if days else None,
            rotate_immediately=cfn_bool(properties.get("RotateImmediatelyOnUpdate", True)),
        )
        return cls(secret_arn, properties, account_id, region_name)

    def _delete(self) -> None:
        backend = secretsmanager_backends[self.account_id][self.region_name]
        _hosted(backend).pop(self.physical_resource_id, None)
        secret = backend.secrets.get(self.physical_resource_id)
        if isinstance(secret, FakeSecret):
            secret.rotation_enabled = False
            secret.rotation_lambda_arn = ""


MODELS = (RotationSchedule,)


def install() -> None:
    """Let ``RotateSecret`` run the hosted rotation of a secret that has one (and no function named instead), and
    keep the version a secret serves in step with its AWSCURRENT label."""
    original = SecretsManagerBackend.rotate_secret

    def rotate_secret(
        backend: SecretsManagerBackend,
        secret_id: str,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: dict[str, Any] | None = None,
        rotate_immediately: bool = True,
    ) -> str:
        secret = backend.secrets[secret_id] if backend._is_valid_identifier(secret_id) else None
        secret = secret if isinstance(secret, FakeSecret) else None  # replicas rotate with their primary
        rotation_type = _hosted(backend).get(secret.arn) if secret is not None and not rotation_lambda_arn else None
        if secret is None or rotation_type is None:
            return original(
                backend, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately
            )
        days = (rotation_rules or {}).get("AutomaticallyAfterDays")
        if days:
            secret.auto_rotate_after_days = int(days)
            secret.next_rotation_date = int(time.time()) + int(days) * 86400
        secret.rotation_enabled = secret.rotation_requested = True
        version_id = client_request_token or str(uuid.uuid4())
        if rotate_immediately:
            try:
                rotate_postgres_single_user(backend, secret.arn, version_id)
                secret.last_rotation_date = int(time.time())
            except Exception as error:  # as on AWS: RotateSecret has answered; the failure shows on the secret
                log.warning("hosted rotation of %s failed: %s", secret.arn, error)
                secret._sandbox_last_rotation_failure = str(error)  # type: ignore[attr-defined]
        return json.dumps({"ARN": secret.arn, "Name": secret.name, "VersionId": version_id})

    replace(SecretsManagerBackend, "rotate_secret", rotate_secret)
    original_update_stage = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(
        backend: SecretsManagerBackend,
        secret_id: str,
        version_stage: str,
        remove_from_version_id: str,
        move_to_version_id: str,
    ) -> tuple[str, str]:
        """moto moves the AWSCURRENT label but not the version it serves and later demotes, so the next
        ``PutSecretValue`` left two versions AWSCURRENT (what every rotation function's finishSecret does)."""
        answer = original_update_stage(backend, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        secret = backend.secrets[secret_id]
        if version_stage == "AWSCURRENT" and move_to_version_id and isinstance(secret, FakeSecret):
            secret.default_version_id = move_to_version_id
        return answer

    replace(SecretsManagerBackend, "update_secret_version_stage", update_secret_version_stage)
