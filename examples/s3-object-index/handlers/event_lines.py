"""Reading one object of raw event data: JSON lines, possibly gzipped, each line one record of one user.

An object that cannot be read completely is *unindexable*, with the reason: not gzip where it claims to be,
truncated, not UTF-8, a line that is not a JSON object, a record without a valid ``user_id`` or ``ts``, too large,
or holding more users than one index update may write. Nothing here raises for bad content; :func:`read_lines`
returns a :class:`Summary` or an :class:`Unindexable`, and :func:`without_user` rewrites a readable object.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: Larger objects are not read (a 15-minute Lambda at ~100 MB/s reads far more, but memory holds it whole).
MAX_OBJECT_BYTES = 64 * 1024 * 1024
#: A gzip stream that inflates beyond this is refused rather than exhausting the function's memory.
MAX_INFLATED_BYTES = 512 * 1024 * 1024
#: One index update writes one item per user: beyond this, an object is split upstream instead.
MAX_USERS_PER_OBJECT = 10_000
GZIP_MAGIC = b"\x1f\x8b"


# --8<-- [start:records]
class EventRecord(BaseModel):
    """One line of raw event data: whose it is and when it happened; any other fields are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)

    user_id: str = Field(pattern=r"^[A-Za-z0-9_.@:-]{1,128}$")
    ts: datetime


@dataclass
class Summary:
    """What the index records about one readable object version."""

    records: int = 0
    users: dict[str, int] = field(default_factory=dict)  # user id -> records
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    gzipped: bool = False


@dataclass(frozen=True)
class Unindexable:
    """An object version the indexer cannot read completely, and why (the first problem found)."""

    reason: str


def read_lines(body: bytes) -> Summary | Unindexable:
    """Summarise an object's records, or say why it cannot be indexed."""
    lines = _decoded(body)
    if isinstance(lines, Unindexable):
        return lines
    summary = Summary(gzipped=body.startswith(GZIP_MAGIC))
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = _record(number, line)
        if isinstance(record, Unindexable):
            return record
        summary.records += 1
        summary.users[record.user_id] = summary.users.get(record.user_id, 0) + 1
        ts = record.ts if record.ts.tzinfo else record.ts.replace(tzinfo=UTC)
        summary.first_ts = min(summary.first_ts or ts, ts)
        summary.last_ts = max(summary.last_ts or ts, ts)
        if len(summary.users) > MAX_USERS_PER_OBJECT:
            return Unindexable(f"holds more than {MAX_USERS_PER_OBJECT} users: split such objects upstream")
    return summary


# --8<-- [end:records]


def without_user(body: bytes, user_id: str) -> tuple[bytes, int] | Unindexable:
    """The object rewritten without ``user_id``'s records (other lines kept byte for byte, gzip kept), and how
    many records were removed."""
    lines = _decoded(body)
    if isinstance(lines, Unindexable):
        return lines
    kept: list[bytes] = []
    removed = 0
    for number, line in enumerate(lines, 1):
        if line.strip():
            record = _record(number, line)
            if isinstance(record, Unindexable):
                return record
            if record.user_id == user_id:
                removed += 1
                continue
        kept.append(line)
    text = b"".join(kept)
    return (gzip.compress(text, mtime=0) if body.startswith(GZIP_MAGIC) else text), removed


def _decoded(body: bytes) -> list[bytes] | Unindexable:
    if len(body) > MAX_OBJECT_BYTES:
        return Unindexable(f"{len(body)} bytes, more than the indexer reads ({MAX_OBJECT_BYTES})")
    data = body
    if body.startswith(GZIP_MAGIC):
        inflated = _gunzip(body)
        if isinstance(inflated, Unindexable):
            return inflated
        data = inflated
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Unindexable(f"not UTF-8 text at byte {error.start}")
    return data.splitlines(keepends=True)


def _gunzip(body: bytes) -> bytes | Unindexable:
    """Inflate every gzip member, refusing a truncated or corrupt stream and a decompression bomb."""
    out: list[bytes] = []
    size = 0
    rest = body
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(rest, MAX_INFLATED_BYTES - size + 1)
            size += len(chunk)
            out.append(chunk)
            if size > MAX_INFLATED_BYTES:
                return Unindexable(f"inflates to more than {MAX_INFLATED_BYTES} bytes")
            if not inflater.eof:
                return Unindexable("truncated gzip: the stream ends before its end marker")
            rest = inflater.unused_data.lstrip(b"\x00")
    except zlib.error as error:
        return Unindexable(f"corrupt gzip: {error}")
    return b"".join(out)


def _record(number: int, line: bytes) -> EventRecord | Unindexable:
    try:
        return EventRecord.model_validate_json(line)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "record"
        if first["type"] in {"json_invalid", "json_type"}:
            return Unindexable(f"line {number}: not JSON ({first['msg']})")
        if first["type"] == "model_type":
            return Unindexable(f"line {number}: not a JSON object")
        return Unindexable(f"line {number}: {where}: {first['msg']}")
