"""event-pipeline: template assertions, the cdk-nag gate, handler unit tests and bad input.

The end-to-end tests, which deploy the app into a sandbox account, are in tests/e2e/test_event_pipeline_e2e.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from pydantic import ValidationError

from awspatterns.app import new_app
from awspatterns.catalog import get_pattern
from awspatterns.synth import load_stack_module, nag_violations

SLUG = "event-pipeline"
EVENT = {
    "event_id": "e-1",
    "source": "orders",
    "type": "order.placed",
    "occurred_at": "2026-12-01T10:00:00+01:00",
    "detail": {"total": "12.50"},
}


# ---------------------------------------------------------------- template assertions
@pytest.fixture(scope="module")
def template(assemblies) -> Template:
    return Template.from_json(assemblies[SLUG].templates["EventPipeline"])


def destination(template: Template) -> dict[str, Any]:
    [stream] = template.find_resources("AWS::KinesisFirehose::DeliveryStream").values()
    return stream["Properties"]["ExtendedS3DestinationConfiguration"]  # type: ignore[no-any-return]


def statements(template: Template, prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for name, policy in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith(prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_stream_lands_gzip_objects_under_hive_style_time_partitions(template):
    config = destination(template)
    assert (
        config["Prefix"]
        == "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
    )
    assert config["ErrorOutputPrefix"].startswith("errors/!{firehose:error-output-type}/year=")
    assert config["CompressionFormat"] == "GZIP"
    assert config["BufferingHints"] == {"IntervalInSeconds": 60, "SizeInMBs": 64}
    assert config["CloudWatchLoggingOptions"]["Enabled"] is True
    template.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {"DeliveryStreamType": "DirectPut", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "AWS_OWNED_CMK"}},
    )


def test_every_record_goes_through_the_transformation_function(template):
    [processor] = destination(template)["ProcessingConfiguration"]["Processors"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert processor["Type"] == "Lambda" and parameters["NumberOfRetries"] == "3"
    assert parameters["LambdaArn"]["Fn::GetAtt"][0].startswith("PipelineTransformer")


def test_the_delivery_role_may_write_only_the_two_prefixes_and_invoke_only_the_transformer(template):
    granted = {
        action: statement["Resource"]
        for statement in statements(template, "PipelineDeliveryPolicy")
        for action in statement["Action"]
    }
    assert set(granted) == {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "lambda:InvokeFunction",
        "lambda:GetFunctionConfiguration",
    }
    prefixes = sorted(r["Fn::Join"][1][1] for r in granted["s3:PutObject"])
    assert prefixes == ["/errors/*", "/events/*"]
    assert granted["lambda:InvokeFunction"]["Fn::GetAtt"][0].startswith("PipelineTransformer")


def test_emitters_may_only_put_batches_into_the_stream(template):
    for emitter in ("OrdersEmitter", "PaymentsEmitter"):
        actions = [s["Action"] for s in statements(template, f"{emitter}RoleDefaultPolicy")]
        assert "firehose:PutRecordBatch" in actions
        assert not any(str(a).startswith(("s3:", "lambda:")) for a in actions)


def test_the_audit_log_is_subscribed_with_a_role_that_may_only_put_records(template):
    template.has_resource_properties(
        "AWS::Logs::SubscriptionFilter",
        {
            "LogGroupName": {"Ref": Match.string_like_regexp("^AuditLogs")},
            "FilterPattern": '"audit_event"',
            "DestinationArn": {"Fn::GetAtt": [Match.string_like_regexp("^PipelineStream"), "Arn"]},
        },
    )
    assert [s["Action"] for s in statements(template, "PipelineSubscriptionRole")] == ["firehose:PutRecord"]
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"Service": "logs.amazonaws.com"}})]
            }
        },
    )


def test_a_glue_table_describes_the_data_prefix_with_projected_partitions(template):
    [table] = template.find_resources("AWS::Glue::Table").values()
    table_input = table["Properties"]["TableInput"]
    assert [p["Name"] for p in table_input["PartitionKeys"]] == ["year", "month", "day", "hour"]
    assert table_input["Parameters"]["projection.enabled"] == "true"
    serde = table_input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert serde == "org.openx.data.jsonserde.JsonSerDe"
    columns = [c["Name"] for c in table_input["StorageDescriptor"]["Columns"]]
    assert columns == ["event_id", "source", "type", "occurred_at", "channel", "detail"]
    template.resource_count_is("AWS::Glue::Database", 1)


def test_an_alarm_watches_how_old_undelivered_records_get(template):
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"Namespace": "AWS/Firehose", "MetricName": "DeliveryToS3.DataFreshness", "Threshold": 900},
    )


def test_the_stack_passes_the_nag_gate_acknowledging_only_generated_object_keys(assemblies):
    assembly = assemblies[SLUG]
    assert nag_violations(assembly.directory) == []
    acknowledged = {
        path.rsplit("/", 1)[-1]: [rule for rule in entry["data"] if "IAM5" in rule]
        for metadata_file in assembly.directory.glob("*.metadata.json")
        for path, entries in json.loads(metadata_file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
    }
    assert {path for path, rules in acknowledged.items() if rules} == {"XRay", "DeliveryPolicy"}


def test_the_construct_delivers_into_an_existing_bucket(tmp_path):
    module = load_stack_module(get_pattern(SLUG))
    app = new_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Existing", env=cdk.Environment(account="123456789012", region="us-east-1"))
    bucket = s3.Bucket.from_bucket_name(stack, "Lake", "existing-lake")
    module.EventPipeline(
        stack, "Pipeline", bucket=bucket, code_dir=module.HANDLERS, transformer_handler="transformer.index.handler"
    )
    props = Template.from_stack(stack).find_resources("AWS::KinesisFirehose::DeliveryStream")
    [stream] = props.values()
    assert "existing-lake" in json.dumps(stream["Properties"]["ExtendedS3DestinationConfiguration"]["BucketARN"])


# ---------------------------------------------------------------- the transformation
@pytest.fixture
def transformer(handler_loader):
    return handler_loader(SLUG, "transformer.index")


def firehose_event(*datas: bytes) -> dict[str, Any]:
    return {
        "invocationId": "i-1",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
        "region": "us-east-1",
        "records": [
            {
                "recordId": f"r{n}",
                "approximateArrivalTimestamp": 1_796_000_000_000,
                "data": base64.b64encode(d).decode(),
            }
            for n, d in enumerate(datas)
        ],
    }


def answers(response: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    return [(r["recordId"], r["result"], base64.b64decode(r.get("data") or "")) for r in response["records"]]


def log_batch(*messages: str, kind: str = "DATA_MESSAGE") -> bytes:
    envelope = {
        "messageType": kind,
        "owner": "123456789012",
        "logGroup": "/aws/lambda/audit",
        "logStream": "s",
        "subscriptionFilters": ["f"],
        "logEvents": [{"id": str(n), "timestamp": 1_796_000_000_000, "message": m} for n, m in enumerate(messages)],
    }
    return gzip.compress(json.dumps(envelope).encode())


def test_a_valid_event_becomes_one_lake_line_in_utc(transformer, lambda_context):
    [(record_id, result, data)] = answers(
        transformer.handler(firehose_event(json.dumps(EVENT).encode()), lambda_context)
    )
    assert (record_id, result) == ("r0", "Ok")
    assert json.loads(data) == {
        "event_id": "e-1",
        "source": "orders",
        "type": "order.placed",
        "occurred_at": "2026-12-01T09:00:00Z",
        "channel": "direct",
        "detail": '{"total":"12.50"}',
    }
    assert data.endswith(b"\n")  # one JSON document a line: what the Glue table's SerDe reads


def test_audit_lines_of_a_log_batch_become_lake_lines_and_the_rest_is_left_out(transformer, lambda_context):
    audit = {**EVENT, "event_id": "a-1", "source": "audit", "type": "user.login"}
    batch = log_batch(
        "START RequestId: 1 Version: $LATEST",
        json.dumps({"level": "INFO", "message": "audit", "audit_event": audit}),
        json.dumps({"level": "INFO", "message": "something else"}),
    )
    [(_, result, data)] = answers(transformer.handler(firehose_event(batch), lambda_context))
    assert result == "Ok"
    assert [json.loads(line)["event_id"] for line in data.decode().splitlines()] == ["a-1"]
    assert json.loads(data)["channel"] == "logs"


def test_a_control_message_is_dropped(transformer, lambda_context):
    [(_, result, _)] = answers(transformer.handler(firehose_event(log_batch(kind="CONTROL_MESSAGE")), lambda_context))
    assert result == "Dropped"


# --8<-- [start:bad-input]
BAD_RECORDS = {
    "not JSON": b"this is not JSON",
    "truncated JSON": b'{"event_id": "e-1"',
    "JSON array": b"[1, 2]",
    "missing field": json.dumps({k: v for k, v in EVENT.items() if k != "occurred_at"}).encode(),
    "unknown source": json.dumps({**EVENT, "source": "marketing"}).encode(),
    "extra field": json.dumps({**EVENT, "amount": 5}).encode(),
    "wrong type": json.dumps({**EVENT, "event_id": 7}).encode(),
    "naive time": json.dumps({**EVENT, "occurred_at": "2026-12-01T10:00:00"}).encode(),
    "bad id characters": json.dumps({**EVENT, "event_id": "e 1/../x"}).encode(),
    "oversized": json.dumps({**EVENT, "detail": {"blob": "x" * 70_000}}).encode(),
    "not UTF-8": b"\xff\xfe\x00",
    "broken gzip": b"\x1f\x8b\x08\x00garbage",
    "log batch with a malformed audit event": log_batch(json.dumps({"audit_event": {"event_id": "a-2"}})),
}


@pytest.mark.parametrize("data", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_malformed_records_are_answered_processing_failed_and_logged_with_the_reason(
    transformer, lambda_context, data, caplog
):
    response = transformer.handler(firehose_event(json.dumps(EVENT).encode(), data), lambda_context)
    assert [(r, result) for r, result, _ in answers(response)] == [("r0", "Ok"), ("r1", "ProcessingFailed")]
    [warning] = [r for r in caplog.records if r.getMessage() == "malformed record"]
    assert warning.record_id == "r1" and warning.reason  # type: ignore[attr-defined]
    assert warning.raw_sha256 == hashlib.sha256(data).hexdigest()  # type: ignore[attr-defined]


# --8<-- [end:bad-input]


def test_a_batch_that_is_not_a_firehose_event_fails_the_invocation(transformer, lambda_context):
    with pytest.raises(ValidationError):
        transformer.handler({"records": "nope"}, lambda_context)


# ---------------------------------------------------------------- the emitter
class FakeFirehose:
    """Fails the records whose data is listed in ``failing`` the first ``times`` times they are put."""

    def __init__(self, failing: set[bytes] = frozenset(), times: int = 1) -> None:  # type: ignore[assignment]
        self.failing, self.times = set(failing), times
        self.calls: list[list[bytes]] = []
        self.seen: dict[bytes, int] = {}

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:  # noqa: N803
        datas = [r["Data"] for r in Records]
        self.calls.append(datas)
        responses = []
        for data in datas:
            self.seen[data] = self.seen.get(data, 0) + 1
            if data in self.failing and self.seen[data] <= self.times:
                responses.append({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."})
            else:
                responses.append({"RecordId": "x"})
        return {"FailedPutCount": sum("ErrorCode" in r for r in responses), "RequestResponses": responses}


@pytest.fixture
def emitter(handler_loader, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("STREAM_NAME", "events")
    monkeypatch.setenv("SOURCE", "orders")
    module = handler_loader(SLUG, "emitter.index")
    monkeypatch.setattr(module.time, "sleep", lambda _s: None)
    return module


# --8<-- [start:resend]
def test_the_emitter_resends_exactly_the_records_firehose_reports_failed(emitter, lambda_context, monkeypatch):
    fake = FakeFirehose(failing={b'{"n":1}', b'{"n":3}'}, times=2)
    monkeypatch.setattr(emitter, "firehose", fake)
    result = emitter.handler({"records": [{"n": n} for n in range(5)]}, lambda_context)
    assert result == {"accepted": 5, "calls": 3, "resent": 4, "source": "orders"}
    assert fake.calls[1] == fake.calls[2] == [b'{"n":1}', b'{"n":3}']
    assert all(count == 1 for data, count in fake.seen.items() if data not in fake.failing)  # none twice


# --8<-- [end:resend]


def test_the_emitter_fails_loudly_when_records_are_never_accepted(emitter, lambda_context, monkeypatch):
    monkeypatch.setattr(emitter, "firehose", FakeFirehose(failing={b'{"n":0}'}, times=99))
    with pytest.raises(emitter.NotAccepted, match="1 records were still refused after 8 attempts"):
        emitter.handler({"records": [{"n": 0}, {"n": 1}]}, lambda_context)


def test_the_emitter_splits_batches_at_firehoses_limits(emitter, lambda_context, monkeypatch):
    fake = FakeFirehose()
    monkeypatch.setattr(emitter, "firehose", fake)
    result = emitter.handler({"records": [{"n": n} for n in range(1201)]}, lambda_context)
    assert [len(c) for c in fake.calls] == [500, 500, 201] and result["accepted"] == 1201
    big = "x" * (900 * 1024)
    assert [len(b) for b in emitter.batches([big.encode()] * 5)] == [4, 1]  # 4 MiB a call


def test_the_emitter_sends_strings_as_they_are_so_the_pipeline_sees_malformed_text(
    emitter, lambda_context, monkeypatch
):
    fake = FakeFirehose()
    monkeypatch.setattr(emitter, "firehose", fake)
    emitter.handler({"records": ["not JSON {", {"a": 1}]}, lambda_context)
    assert fake.calls == [[b"not JSON {", b'{"a":1}']]


@pytest.mark.parametrize(
    "event",
    [{}, {"records": []}, {"records": "x"}, {"records": [{"n": 1}] * 10_001}, {"records": ["x" * (1000 * 1024 + 1)]}],
    ids=["missing", "empty", "not a list", "too many", "record too large"],
)
def test_the_emitter_refuses_bad_requests_before_putting_anything(emitter, lambda_context, monkeypatch, event):
    fake = FakeFirehose()
    monkeypatch.setattr(emitter, "firehose", fake)
    with pytest.raises((ValidationError, ValueError)):
        emitter.handler(event, lambda_context)
    assert fake.calls == []


# ---------------------------------------------------------------- the audit function
@pytest.fixture
def audit(handler_loader, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return handler_loader(SLUG, "audit.index")


def test_the_audit_function_logs_each_event_as_a_structured_line(audit, lambda_context, caplog):
    event = {**EVENT, "source": "audit", "type": "user.login"}
    assert audit.handler({"events": [event, {**event, "event_id": "e-2"}]}, lambda_context) == {"logged": 2}
    logged = [r.audit_event for r in caplog.records if hasattr(r, "audit_event")]  # type: ignore[attr-defined]
    assert [e["event_id"] for e in logged] == ["e-1", "e-2"]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"events": []},
        {"events": [{**EVENT, "source": "audit", "occurred_at": "yesterday"}]},
        {"events": [EVENT]},  # not an audit event
        {"events": [{**EVENT, "source": "audit"}] * 1001},
    ],
    ids=["missing", "empty", "bad time", "wrong source", "too many"],
)
def test_the_audit_function_refuses_bad_requests_before_logging_anything(audit, lambda_context, caplog, event):
    with pytest.raises((ValidationError, ValueError)):
        audit.handler(event, lambda_context)
    assert not [r for r in caplog.records if hasattr(r, "audit_event")]
