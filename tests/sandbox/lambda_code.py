"""Small handlers for the sandbox's own tests, zipped in memory."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from typing import Any


def zip_code(source: str, filename: str = "index.py") -> bytes:
    """A deployment package holding one module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(filename, textwrap.dedent(source))
    return buffer.getvalue()


def create_function(
    session: Any,
    name: str,
    source: str,
    *,
    timeout: int = 10,
    environment: dict[str, str] | None = None,
    runtime: str = "python3.11",
    **extra: Any,
) -> str:
    """Create a function in the sandbox (with a role to satisfy the API) and return its ARN."""
    iam = session.client("iam")
    try:
        role = iam.get_role(RoleName="test-function-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName="test-function-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
    return session.client("lambda").create_function(  # type: ignore[no-any-return]
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zip_code(source)},
        Timeout=timeout,
        Environment={"Variables": environment or {}},
        **extra,
    )["FunctionArn"]
