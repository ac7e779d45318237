"""Drive the event-pipeline example: ``patterns run event-pipeline`` (deploys first if needed), or directly against
a deployed stack: ``python client.py`` (uses the ``EventPipeline`` stack's outputs and the usual AWS environment
variables).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

STACK_NAME = "EventPipeline"
ORDERS, PAYMENTS, AUDITS = 60, 40, 10


# --8<-- [start:run]
def run(
    outputs: dict[str, str], session: boto3.Session, timeout: float = 600.0, settle: Callable[[], object] | None = None
) -> dict[str, Any]:
    """Send events through every emitter (three of them malformed), then read the lake back until each event is
    accounted for: delivered once under the data prefix, or parked under the error prefix with its reason.

    ``settle``, if given, is called between reads (the sandbox's ``quiesce`` delivers Firehose's buffers at once;
    against AWS, Firehose delivers when its buffer interval ends).
    """
    lambda_ = session.client("lambda")
    run_id = uuid.uuid4().hex[:8]
    sent = _events(run_id)
    report: dict[str, Any] = {"run": run_id, "sent": {}, "emitters": {}}

    # 1. Fan-in: two functions put batches, one writes audit lines that its log's subscription forwards.
    started = time.monotonic()
    for name, key in (("orders", "OrdersEmitterName"), ("payments", "PaymentsEmitterName")):
        result = _invoke(lambda_, outputs[key], {"records": [e["record"] for e in sent[name]]})
        report["emitters"][name] = result
    report["emitters"]["audit"] = _invoke(
        lambda_, outputs["AuditFunctionName"], {"events": [e["record"] for e in sent["audit"]]}
    )
    report["sent"] = {
        name: {"valid": sum(e["valid"] for e in items), "malformed": sum(not e["valid"] for e in items)}
        for name, items in sent.items()
    }

    # 2. Delivery: read the data and error prefixes back until every event is found.
    valid = {e["id"] for items in sent.values() for e in items if e["valid"]}
    malformed = {e["id"] for items in sent.values() for e in items if not e["valid"]}
    s3 = session.client("s3")

    def read() -> dict[str, Any]:
        if settle is not None:
            settle()
        return _lake(s3, outputs, run_id)

    lake = _wait_for(read, lambda r: set(r["rows"]) >= valid and set(r["errors"]) >= malformed, timeout)
    report["seconds_to_lake"] = round(time.monotonic() - started, 2)

    # 3. Account for everything: once each, or parked with its reason; nothing missing.
    reasons = _reasons(session.client("logs"), outputs["TransformerLogGroup"])
    report["delivered"] = {event_id: rows for event_id, rows in lake["rows"].items() if event_id in valid}
    report["parked"] = {
        event_id: {**doc, "reason": reasons.get(doc["raw_sha256"], "")}
        for event_id, doc in lake["errors"].items()
        if event_id in malformed
    }
    report["objects"] = lake["objects"]
    report["final"] = {
        "sent": len(valid) + len(malformed),
        "delivered_once": sorted(k for k, rows in report["delivered"].items() if len(rows) == 1),
        "duplicated": sorted(k for k, rows in report["delivered"].items() if len(rows) > 1),
        "parked": sorted(report["parked"]),
        "missing": sorted((valid - set(lake["rows"])) | (malformed - set(lake["errors"]))),
    }
    report["table"] = _table(session.client("glue"), outputs)
    return report


# --8<-- [end:run]


def _events(run_id: str) -> dict[str, list[dict[str, Any]]]:
    """Each emitter's events: ``record`` as sent, ``id`` to find it again, ``valid``."""
    now = datetime.now(UTC).isoformat()

    def event(source: str, n: int, kind: str, **detail: Any) -> dict[str, Any]:
        event_id = f"{run_id}-{source}-{n}"
        record = {"event_id": event_id, "source": source, "type": kind, "occurred_at": now, "detail": detail}
        return {"id": event_id, "record": record, "valid": True}

    orders = [event("orders", n, "order.placed", order_id=f"o-{n}", total=f"{n}.50") for n in range(ORDERS)]
    payments = [event("payments", n, "payment.captured", amount=n * 100) for n in range(PAYMENTS)]
    audits = [event("audit", n, "user.login", user=f"u-{n}") for n in range(AUDITS)]
    # Malformed: text that is not JSON, an event without its time, a time without a time zone.
    orders[7] = {"id": f"{run_id}-orders-7", "record": f"{run_id}-orders-7 this is not JSON", "valid": False}
    del orders[13]["record"]["occurred_at"]
    orders[13]["valid"] = False
    payments[5]["record"]["occurred_at"] = "2026-12-01T10:00:00"
    payments[5]["valid"] = False
    return {"orders": orders, "payments": payments, "audit": audits}


def _invoke(lambda_: Any, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = lambda_.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    result: dict[str, Any] = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RuntimeError(f"{name} failed: {result}")
    return result


def _lake(s3: Any, outputs: dict[str, str], run_id: str) -> dict[str, Any]:
    """This run's rows under the data prefix (by event id, every copy) and error documents (by event id)."""
    bucket = outputs["LakeBucket"]
    rows: dict[str, list[dict[str, Any]]] = {}
    errors: dict[str, dict[str, Any]] = {}
    objects: list[str] = []
    for prefix in (outputs["DataPrefix"], outputs["ErrorPrefix"]):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                lines = gzip.decompress(body).decode().splitlines()
                mine = False
                for line in lines:
                    document = json.loads(line)
                    if prefix == outputs["DataPrefix"]:
                        if document["event_id"].startswith(run_id):
                            rows.setdefault(document["event_id"], []).append({**document, "key": item["Key"]})
                            mine = True
                        continue
                    raw = base64.b64decode(document["rawData"])
                    event_id = _event_id(raw, run_id)
                    if event_id:
                        errors[event_id] = {
                            "key": item["Key"],
                            "error_code": document["errorCode"],
                            "raw": raw.decode(errors="replace"),
                            "raw_sha256": hashlib.sha256(raw).hexdigest(),
                        }
                        mine = True
                if mine:
                    objects.append(item["Key"])
    return {"rows": rows, "errors": errors, "objects": sorted(objects)}


def _event_id(raw: bytes, run_id: str) -> str | None:
    text = raw.decode(errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        return text.split(" ", 1)[0] if text.startswith(run_id) else None
    event_id = document.get("event_id", "") if isinstance(document, dict) else ""
    return event_id if event_id.startswith(run_id) else None


def _reasons(logs: Any, group: str) -> dict[str, str]:
    """The transformation's reason for each failed record, by the SHA-256 of its raw data."""
    reasons = {}
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        for event in page["events"]:
            try:
                line = json.loads(event["message"])
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("message") == "malformed record":
                reasons[line["raw_sha256"]] = line["reason"]
    return reasons


def _table(glue: Any, outputs: dict[str, str]) -> dict[str, Any]:
    table = glue.get_table(DatabaseName=outputs["GlueDatabase"], Name=outputs["GlueTable"])["Table"]
    return {
        "name": f"{outputs['GlueDatabase']}.{outputs['GlueTable']}",
        "location": table["StorageDescriptor"]["Location"],
        "columns": [c["Name"] for c in table["StorageDescriptor"]["Columns"]],
        "partitions": [p["Name"] for p in table.get("PartitionKeys", [])],
    }


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def format_report(report: dict[str, Any]) -> str:
    """The story, step by step, in the words of the pattern's page."""
    sent, emitters, final = report["sent"], report["emitters"], report["final"]
    lines = ["1. Fan-in. Three emitters sent events to one Firehose delivery stream:"]
    for name in ("orders", "payments"):
        stats = emitters[name]
        resent = f", resending {stats['resent']} that Firehose reported failed" if stats["resent"] else ""
        lines.append(
            f"   {name}: {sent[name]['valid']} valid + {sent[name]['malformed']} malformed, put with PutRecordBatch "
            f"in {stats['calls']} call(s){resent}; {stats['accepted']} accepted"
        )
    lines.append(
        f"   audit: {emitters['audit']['logged']} audit events written to the function's log; the log group's "
        "subscription forwarded them"
    )
    channels = Counter(rows[0]["channel"] for rows in report["delivered"].values())
    lines.append(
        f"2. Delivery ({report['seconds_to_lake']} s). The transformation validated every record; "
        f"{len(report['delivered'])} events are in the lake ({channels['direct']} put directly, {channels['logs']} "
        "from the log subscription), GZIP-compressed, one JSON line each, in:"
    )
    lines += [f"   s3://…/{key}" for key in report["objects"] if key.startswith("events/")][:4]
    lines.append(f"3. Malformed records: {len(report['parked'])} parked under the error prefix, untouched, with why:")
    for event_id, parked in sorted(report["parked"].items()):
        lines.append(f"   {event_id}: {parked['error_code']}: {_short(parked['reason'])}")
    table = report["table"]
    lines.append(
        f"4. Query. Glue table {table['name']} over {table['location']}: columns {', '.join(table['columns'])}; "
        f"partitions {', '.join(table['partitions'])} (projected). On AWS, Athena queries it; here the client read "
        "the objects back."
    )
    lines.append(
        f"{final['sent']} sent = {len(final['delivered_once'])} delivered once + {len(final['parked'])} parked with "
        f"their reason; {len(final['duplicated'])} duplicated, {len(final['missing'])} missing."
    )
    return "\n".join(lines)


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main() -> None:
    """Run against the deployed stack named ``EventPipeline`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
