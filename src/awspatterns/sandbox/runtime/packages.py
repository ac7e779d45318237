"""Deployment packages on disk: each zip (a function's code or a layer) unpacked once per content hash."""

from __future__ import annotations

import io
import shutil
import uuid
import zipfile
from pathlib import Path

__all__ = ["unpack"]


def unpack(code: bytes, parent: Path, sha256: str) -> Path:
    """Unpack a zip into ``parent``, in a folder named by its hash, unless it is there already (safe when threads
    race for it); return the folder."""
    target = parent / sha256.replace("/", "_")  # moto's hashes are base64
    if not target.is_dir():
        parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(target.name + f".{uuid.uuid4().hex}")
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another thread unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
    return target
