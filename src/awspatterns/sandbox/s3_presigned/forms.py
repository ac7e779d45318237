"""A browser upload's form as S3 reads it: field names are case-insensitive, repeated fields count as one whose
values are joined by commas, ``${filename}`` in any field becomes the name of the uploaded file, and the part named
``file`` is the object (exactly one is allowed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["UploadForm", "read_form"]


@dataclass(frozen=True)
class UploadForm:
    """The fields of an upload (the ``file`` part excluded), how many ``file`` parts it had, the object's size
    and the uploaded file's name (``None`` when its part gave none)."""

    fields: tuple[tuple[str, str], ...]
    files: int
    size: int
    filename: str | None = None

    def get(self, name: str) -> str | None:
        """A field's value (repeated fields joined by ``,``), matching the name case-insensitively; or ``None``."""
        values = [value for key, value in self.fields if key.lower() == name.lower()]
        return ",".join(values) if values else None

    def has(self, name: str) -> bool:
        """Whether the form has a field of that name (case-insensitively)."""
        return any(key.lower() == name.lower() for key, _ in self.fields)

    def names(self) -> list[str]:
        """The form's field names as sent, each once, in order."""
        seen: dict[str, str] = {}
        for key, _ in self.fields:
            seen.setdefault(key.lower(), key)
        return list(seen.values())


def read_form(fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, Any]], body: bytes | str) -> UploadForm:
    """The upload form from a parsed multipart request: its text ``fields`` and ``files`` (werkzeug's
    ``FileStorage`` objects, ``(name, file)`` pairs) and the object's content ``body``."""
    texts = list(fields)
    uploads = [upload for name, upload in files if name.lower() == "file"]
    as_text = [value for name, value in texts if name.lower() == "file"]  # a file part sent without a filename
    filename = None
    if uploads and uploads[0].filename is not None:
        # Only the name counts, never a path the browser sent with it.
        filename = uploads[0].filename.replace("\\", "/").rsplit("/", 1)[-1]
    kept = tuple(
        (name, value if filename is None else value.replace("${filename}", filename))
        for name, value in texts
        if name.lower() != "file"
    )
    size = len(body.encode() if isinstance(body, str) else body)
    return UploadForm(kept, len(uploads) + len(as_text), size, filename)
