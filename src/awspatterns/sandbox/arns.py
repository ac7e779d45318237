"""Reading ARNs: one parser instead of ``split(":")`` at every call site."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Arn"]


@dataclass(frozen=True)
class Arn:
    """The parts of ``arn:<partition>:<service>:<region>:<account>:<resource>``.

    ``resource`` keeps everything after the fifth colon (``queue-name``, ``table/T/stream/S``,
    ``log-group:/aws/x:*``); an ARN that names no resource (``arn:aws:events:<region>:<account>``) has ``""``.
    """

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> Arn:
        """Split an ARN into its parts.

        Raises:
            ValueError: ``arn`` is not an ARN.
        """
        parts = arn.split(":", 5)
        if len(parts) < 5 or parts[0] != "arn":
            raise ValueError(f"not an ARN: {arn!r}")
        partition, service, region, account = parts[1:5]
        return cls(partition, service, region, account, parts[5] if len(parts) == 6 else "")

    @property
    def name(self) -> str:
        """The resource's own name: the part after the last ``/`` or ``:`` (a queue, topic or bus name)."""
        return self.resource.replace(":", "/").rsplit("/", 1)[-1]
