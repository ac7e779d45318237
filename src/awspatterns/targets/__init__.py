"""Deploy targets: the local sandbox account (default) and a real AWS account through the AWS CDK CLI."""

from __future__ import annotations

from awspatterns.targets.base import Target

__all__ = ["TARGET_NAMES", "get_target"]

#: What ``--target`` accepts.
TARGET_NAMES = ("sandbox", "aws")


def get_target(name: str, start_sandbox: bool = False) -> Target:
    """The target called ``name``; ``start_sandbox`` lets the sandbox target start the sandbox if it is not running."""
    if name == "aws":
        from awspatterns.targets.aws_target import AwsTarget

        return AwsTarget()
    from awspatterns.targets.sandbox_target import SandboxTarget

    return SandboxTarget(autostart=start_sandbox)
