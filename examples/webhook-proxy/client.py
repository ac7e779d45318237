"""Drive the webhook-proxy pattern as a SaaS provider would: sign deliveries and post them, forged, stale and
replayed ones included, rotate the signing secret, and see which stage processed what.

Run it with ``patterns run webhook-proxy`` (deploys first if needed), or directly against a deployed stack:
``python client.py`` (uses the ``WebhookProxy`` stack's outputs and the usual AWS environment variables).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import boto3

STACK_NAME = "WebhookProxy"
#: What the receiver accepts at most (its ``MAX_BODY_BYTES``).
MAX_BODY_BYTES = 256 * 1024


# --8<-- [start:sign]
def signature_header(body: bytes, secrets_: list[str], timestamp: int | None = None) -> str:
    """``Webhook-Signature`` as the provider sends it: one ``v1`` per secret it signs with (two during a rotation)."""
    t = int(time.time()) if timestamp is None else timestamp
    signatures = [hmac.new(s.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest() for s in secrets_]
    return ",".join([f"t={t}", *(f"v1={s}" for s in signatures)])


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST a delivery; return the status and the JSON answer."""
    if not url.startswith(("https://", "http://localhost")):
        raise ValueError(f"not the stack's webhook URL: {url}")
    request = urllib.request.Request(  # noqa: S310 (checked above)
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (checked above)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# --8<-- [end:sign]


# --8<-- [start:run]
def run(outputs: dict[str, str], session: boto3.Session, timeout: float = 120.0) -> dict[str, Any]:
    """Post signed, forged, stale, replayed and oversized deliveries, rotate the secret, and wait until every stored
    delivery is processed by its stage or parked by it.

    Returns a report of every delivery, with the count at the end: sent = refused + stored, stored = processed +
    parked.
    """
    url, stages = outputs["WebhookUrl"], outputs["Stages"].split(",")
    secretsmanager = session.client("secretsmanager")
    secret = secretsmanager.get_secret_value(SecretId=outputs["SecretArn"])["SecretString"]  # what the provider holds
    run_id = uuid.uuid4().hex[:8]
    sent: list[dict[str, Any]] = []

    def deliver(name: str, payload: Any, *, headers: dict[str, str] | None = None, body: bytes | None = None) -> None:
        raw = body if body is not None else json.dumps(payload).encode()
        signed = {"Webhook-Signature": signature_header(raw, [secret])} if headers is None else headers
        status, answer = post(url, raw, signed)
        sent.append(
            {"name": name, "status": status, "answer": answer, "bytes": len(raw), "raw": raw, "headers": signed}
        )

    # 1. One delivery per stage, one naming no stage (the default), and one the test stage cannot process.
    for stage in stages:
        deliver(f"for {stage}", event(run_id, f"{stage}-1", stage))
    deliver("without a stage", event(run_id, "nostage-1", None))
    deliver("malformed, for test", {"id": f"{run_id}-poison", "type": "order.created", "metadata": {"stage": "test"}})
    deliver("for test, after it", event(run_id, "test-2", "test"))

    # 2. What an attacker or a broken network sends: each refused, nothing stored.
    forged = json.dumps(event(run_id, "forged", "dev")).encode()
    deliver(
        "forged", None, body=forged, headers={"Webhook-Signature": signature_header(forged, [secrets.token_hex(20)])}
    )
    deliver("unsigned", event(run_id, "unsigned", "dev"), headers={})
    stale = json.dumps(event(run_id, "stale", "dev")).encode()
    deliver(
        "stale (10 min old)",
        None,
        body=stale,
        headers={"Webhook-Signature": signature_header(stale, [secret], int(time.time()) - 600)},
    )
    first = sent[0]
    deliver("replayed", None, body=first["raw"], headers=first["headers"])
    tampered = first["raw"].replace(b'"dev-1"', b'"dev-X"')
    deliver("tampered body", None, body=tampered, headers=first["headers"])

    # 3. The size limit: exactly at it is accepted, one byte over is refused.
    deliver("at the size limit", None, body=padded(event(run_id, "big", "staging"), MAX_BODY_BYTES))
    deliver("one byte over", None, body=padded(event(run_id, "too-big", "staging"), MAX_BODY_BYTES + 1))

    # 4. The provider rotates its secret: the operator stores the new one first, then the provider signs with both
    #    for a while, then with the new one alone. The old one alone is still accepted during the overlap.
    new_secret = secrets.token_urlsafe(30)
    secretsmanager.put_secret_value(SecretId=outputs["SecretArn"], SecretString=new_secret)
    both = json.dumps(event(run_id, "rotation-both", "staging")).encode()
    deliver(
        "rotation: both secrets",
        None,
        body=both,
        headers={"Webhook-Signature": signature_header(both, [new_secret, secret])},
    )
    time.sleep(1.1)  # the receiver re-reads its secrets at most once a second after a mismatch
    new_only = json.dumps(event(run_id, "rotation-new", "staging")).encode()
    deliver(
        "rotation: new secret",
        None,
        body=new_only,
        headers={"Webhook-Signature": signature_header(new_only, [new_secret])},
    )
    old_only = json.dumps(event(run_id, "rotation-old", "staging")).encode()
    deliver(
        "rotation: old secret (overlap)",
        None,
        body=old_only,
        headers={"Webhook-Signature": signature_header(old_only, [secret])},
    )

    # 5. Every stored delivery is processed by its stage's consumer, or parked by it.
    stored = {d["answer"]["received"]: d for d in sent if d["status"] == 200}
    table = session.resource("dynamodb").Table(outputs["TableName"])
    sqs = session.client("sqs")
    queues = {stage: outputs[f"{stage.title()}FailuresQueueUrl"] for stage in stages}

    def settle() -> dict[str, Any]:
        items = {key: table.get_item(Key={"delivery_id": key}, ConsistentRead=True).get("Item", {}) for key in stored}
        parked = {stage: parked_deliveries(session, sqs, url_, set(stored)) for stage, url_ in queues.items()}
        return {"items": items, "parked": parked}

    def settled(state: dict[str, Any]) -> bool:
        parked = {key for keys in state["parked"].values() for key in keys}
        return all(item.get("processed_by") or key in parked for key, item in state["items"].items())

    state = wait_for(settle, settled, timeout)
    for delivery in sent:
        key = delivery["answer"].get("received")
        item = state["items"].get(key, {})
        delivery["stage"] = item.get("stage")
        delivery["processed_by"] = item.get("processed_by")
        delivery["parked_by"] = next((s for s, keys in state["parked"].items() if key in keys), None)
        delivery.pop("raw"), delivery.pop("headers")
    return {"run": run_id, "sent": sent, "parked": {s: sorted(k) for s, k in state["parked"].items()}, "stages": stages}


# --8<-- [end:run]


def event(run_id: str, name: str, stage: str | None) -> dict[str, Any]:
    """A webhook as the provider sends it; ``metadata.stage`` is what the routing rule reads."""
    payload: dict[str, Any] = {"id": f"{run_id}-{name}", "type": "order.created", "data": {"order": name}}
    if stage is not None:
        payload["metadata"] = {"stage": stage}
    return payload


def padded(payload: dict[str, Any], size: int) -> bytes:
    """``payload`` with a ``padding`` field that makes its JSON exactly ``size`` bytes."""
    base = json.dumps({**payload, "padding": ""}).encode()
    return json.dumps({**payload, "padding": "x" * (size - len(base))}).encode()


def parked_deliveries(session: boto3.Session, sqs: Any, url: str, keys: set[str]) -> set[str]:
    """The deliveries whose stream records a failure record in the queue points at (left in the queue)."""
    found: set[str] = set()
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    for message in messages:
        info = json.loads(message["Body"]).get("DDBStreamBatchInfo") or {}
        found |= {k for k in records_at(session, info) if k in keys}
    return found


def records_at(session: boto3.Session, info: dict[str, Any]) -> list[str]:
    """The delivery ids of the stream records a ``DDBStreamBatchInfo`` names (while the stream keeps them, 24 h)."""
    if not info:
        return []
    streams = session.client("dynamodbstreams")
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=int(info["batchSize"]))["Records"]
    last = int(info["endSequenceNumber"])
    return [r["dynamodb"]["Keys"]["delivery_id"]["S"] for r in records if int(r["dynamodb"]["SequenceNumber"]) <= last]


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def format_report(report: dict[str, Any]) -> str:
    """What happened to each delivery, in the words of the pattern's page."""
    sent = report["sent"]
    lines = [f"Posted {len(sent)} deliveries to POST /webhooks/acme (run {report['run']}):"]
    for d in sent:
        if d["status"] == 200:
            fate = (
                f"processed by {d['processed_by']}"
                if d["processed_by"]
                else f"parked by {d['parked_by']}'s consumer after bisection and retries"
                if d["parked_by"]
                else "NOT PROCESSED YET"
            )
            lines.append(f"  {d['name']:<32} 200 stored for {d['stage']:<8} -> {fate} ({d['bytes']} bytes)")
        else:
            message = d["answer"].get("message", "")
            lines.append(f"  {d['name']:<32} {d['status']} refused, nothing stored: {message}")
    refused = [d for d in sent if d["status"] != 200]
    stored = [d for d in sent if d["status"] == 200]
    processed = [d for d in stored if d["processed_by"]]
    parked = [d for d in stored if d["parked_by"] and not d["processed_by"]]
    wrong = [d for d in processed if d["processed_by"] != d["stage"]]
    lines.append(
        f"{len(sent)} sent = {len(refused)} refused + {len(stored)} stored; {len(stored)} stored = {len(processed)} "
        f"processed (each once, by its own stage: {len(wrong)} by another) + {len(parked)} parked; "
        f"{len(stored) - len(processed) - len(parked)} missing."
    )
    for stage in report["stages"]:
        mine = sorted(d["name"] for d in processed if d["processed_by"] == stage)
        lines.append(f"  {stage}: {', '.join(mine) or 'nothing'}")
    return "\n".join(lines)


def main() -> None:
    """Run against the deployed stack named ``WebhookProxy`` in the current AWS environment."""
    session = boto3.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(format_report(run(outputs, session)))


if __name__ == "__main__":
    main()
