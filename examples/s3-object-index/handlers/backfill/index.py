"""The backfill: an on-demand job that pages through every object version under the prefix and indexes those the
index does not know yet (objects that predate the indexer, or an index rebuilt from nothing).

Invoke it with ``{"job_id": "..."}``. It saves a checkpoint (S3's key and version markers, and the counts) in the
Jobs table after each page, and stops before its time runs out with ``"status": "incomplete"``: invoking it again
with the same job id resumes after the last page it saved; a page interrupted halfway is redone, which changes
nothing already written. Entries written by events win over the backfill's (it writes the lowest sequencer).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from object_index import Version, index_version, now, object_item, s3
from pydantic import BaseModel, ConfigDict, Field

#: Stop taking new pages when less than this is left of the invocation (a page of 200 small objects takes seconds).
RESERVE_MS = 60_000

logger = Logger()
tracer = Tracer()
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])


class BackfillRequest(BaseModel):
    """What the caller asks for: which job (to resume it), and optionally fewer pages per invocation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    page_size: int = Field(default=200, ge=1, le=1000)
    max_pages: int | None = Field(default=None, ge=1, le=100_000)


class ConcurrentRun(RuntimeError):
    """Another invocation is running the same job: its checkpoint moved under this one."""


# --8<-- [start:handler]
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=BackfillRequest)
def handler(request: BackfillRequest, context: LambdaContext) -> dict[str, Any]:
    """Index pages of object versions from the last checkpoint until done or out of time."""
    bucket, prefix = os.environ["BUCKET_NAME"], os.environ["PREFIX"]
    key = {"job_id": f"backfill#{request.job_id}", "entry": "checkpoint"}
    checkpoint: dict[str, Any] = jobs.get_item(Key=key, ConsistentRead=True).get("Item") or {
        **key,
        "status": "running",
        "pages": 0,
        "counts": {},
        "started_at": now(),
    }
    pages_now = 0
    while checkpoint["status"] != "completed":
        markers = {m: checkpoint[m] for m in ("KeyMarker", "VersionIdMarker") if checkpoint.get(m)}
        page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=request.page_size, **markers)
        counts = Counter({k: int(v) for k, v in checkpoint["counts"].items()})
        for version in page.get("Versions", []):
            counts[index_one(bucket, version)] += 1
        checkpoint = save(checkpoint, page, counts)
        pages_now += 1
        if checkpoint["status"] == "completed":
            break
        if context.get_remaining_time_in_millis() < RESERVE_MS or pages_now == request.max_pages:
            logger.info("pausing; invoke again with the same job id", extra={"pages": checkpoint["pages"]})
            break
    return {
        "job_id": request.job_id,
        "status": checkpoint["status"],
        "pages": int(checkpoint["pages"]),
        **{k: int(v) for k, v in checkpoint["counts"].items()},
    }


def index_one(bucket: str, version: dict[str, Any]) -> str:
    """Index one listed version unless the index already has it as the key's latest."""
    if version["IsLatest"]:
        item = object_item(version["Key"])
        if item and item["version_id"] == version["VersionId"]:
            return "already indexed"
    return index_version(Version(bucket, version["Key"], version["VersionId"]), latest=version["IsLatest"])


def save(checkpoint: dict[str, Any], page: dict[str, Any], counts: Counter[str]) -> dict[str, Any]:
    """Record the page as done; refuse if another invocation of the job saved a page meanwhile."""
    previous = checkpoint["pages"]
    done = not page.get("IsTruncated")
    checkpoint = {
        **{k: v for k, v in checkpoint.items() if k not in {"KeyMarker", "VersionIdMarker"}},
        "pages": previous + 1,
        "counts": dict(counts),
        "status": "completed" if done else "running",
        "updated_at": now(),
        **(
            {} if done else {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page.get("NextVersionIdMarker", "")}
        ),
    }
    try:
        jobs.put_item(
            Item=checkpoint,
            ConditionExpression="attribute_not_exists(job_id) OR pages = :previous",
            ExpressionAttributeValues={":previous": previous},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ConcurrentRun(f"job {checkpoint['job_id']} is being run by another invocation") from error
        raise
    return checkpoint


# --8<-- [end:handler]
