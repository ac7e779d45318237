"""Event source mappings polled by the sandbox, as Lambda's pollers do: SQS queues (``sqs``) and DynamoDB and
Kinesis streams (``streams``). moto 5.2.5 fired them synchronously, once per write, inside the API call that
wrote; here they are taken from moto at creation and polled on background threads."""

from __future__ import annotations

from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda.utils import get_backend as lambda_backend
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.kinesis.models import KinesisBackend, kinesis_backends
from moto.kinesis.models import Stream as KinesisStream
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.deliveries import streams as stream_sources
from awspatterns.sandbox.deliveries.sqs import SqsMapping, SqsPoller
from awspatterns.sandbox.deliveries.streams import DynamoDBStreamSource, KinesisSource, StreamMapping, StreamPoller
from awspatterns.sandbox.event_filters import filter_criteria
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.runtime.environment import InvocationResult
from awspatterns.sandbox.subsystem import Engine, Patched, Reads, fields

__all__ = ["PATCHED", "READS", "install", "mapping_enabled"]

PATCHED: Patched = (
    (lambda_models.LambdaBackend, "create_event_source_mapping"),
    (lambda_models.LambdaBackend, "get_event_source_mapping"),
)

#: The moto state this module and the pollers read (checked by the canary tests): the dicts through which moto
#: would fire a mapping inside the write (emptied here), the queues' counters, and what a record is made of.
READS: Reads = (
    (Table, "lambda_event_source_mappings"),
    (KinesisStream, "lambda_event_source_mappings"),
    (SQSBackend, "queues"),
    (KinesisBackend, "streams"),
    *fields(
        Queue,
        "lambda_event_source_mappings",
        "visibility_timeout",
        "approximate_number_of_messages",
    ),
    *fields(
        Message,
        "approximate_receive_count",
        "approximate_first_receive_timestamp",
        "sent_timestamp",
        "group_id",
        "deduplication_id",
        "message_attributes",
        "body_md5",
    ),
    *fields(
        lambda_models.EventSourceMapping,
        "enabled",
        "starting_position",
        "destination_config",
        "bisect_on_error",
        "max_retry_attempts",
        "max_record_age",
        "function_response_types",
        "filter_criteria",
        "max_batch_window",
    ),
    *stream_sources.READS,
)


def install(engine: Engine) -> None:
    """Start the queue and stream pollers and hand them every new event source mapping."""
    queues = SqsPoller(
        _receive,
        lambda mapping, event: _invoke(engine, mapping, event),
        _delete,
        mapping_enabled,
        _visible,
        engine.activity,
    )
    streams = StreamPoller(
        engine.invoke_function, engine.deliver, mapping_enabled, engine.settings.retry_delays_s, engine.activity
    )
    original = lambda_models.LambdaBackend.create_event_source_mapping

    def create(backend: Any, spec: dict[str, Any]) -> Any:
        esm = original(backend, spec)
        service = Arn.parse(esm.event_source_arn).service
        if service == "sqs":
            queues.add(_sqs_mapping(backend, esm))
        elif service in {"dynamodb", "kinesis"}:
            source, starting_position = _stream_source(backend, esm)
            streams.add(source, starting_position)
        return esm

    replace(lambda_models.LambdaBackend, "create_event_source_mapping", create)
    for poller in (queues, streams):
        poller.start()
        engine.add_component(poller)


def mapping_enabled(mapping: SqsMapping | StreamMapping) -> bool | None:
    """Whether an event source mapping is enabled; ``None`` once it is deleted."""
    esm = lambda_backend(mapping.account_id, mapping.region).get_event_source_mapping(mapping.uuid)
    return None if esm is None else bool(esm.enabled)


def _sqs_mapping(backend: Any, esm: Any) -> SqsMapping:
    account, region, arn = backend.account_id, backend.region_name, esm.event_source_arn
    queue = sqs_backends[account][region].get_queue(Arn.parse(arn).name)
    queue.lambda_event_source_mappings.pop(esm.function_arn, None)  # moto would fire it inside SendMessage
    return SqsMapping(
        account_id=account,
        region=region,
        uuid=esm.uuid,
        queue_arn=arn,
        function_arn=esm.function_arn,
        batch_size=int(esm.batch_size or 10),
        window_s=float(esm.max_batch_window or 0),
        report_item_failures="ReportBatchItemFailures" in (esm.function_response_types or []),
        filters=filter_criteria(esm.filter_criteria),
    )


def _stream_source(backend: Any, esm: Any) -> tuple[DynamoDBStreamSource | KinesisSource, str]:
    account, region, arn = backend.account_id, backend.region_name, esm.event_source_arn
    on_failure = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
    mapping = StreamMapping(
        account_id=account,
        region=region,
        uuid=esm.uuid,
        source_arn=arn,
        function_arn=esm.function_arn,
        batch_size=int(esm.batch_size or 100),
        window_s=float(esm.max_batch_window or 0),
        filters=filter_criteria(esm.filter_criteria),
        bisect=str(esm.bisect_on_error).lower() == "true",
        max_retries=int(esm.max_retry_attempts if esm.max_retry_attempts is not None else -1),
        max_record_age_s=int(esm.max_record_age if esm.max_record_age is not None else -1),
        on_failure_arn=on_failure,
        report_item_failures="ReportBatchItemFailures" in (esm.function_response_types or []),
    )
    source: DynamoDBStreamSource | KinesisSource
    if Arn.parse(arn).service == "dynamodb":
        table_name = arn.split(":table/", 1)[1].split("/stream/", 1)[0]
        table = dynamodb_backends[account][region].get_table(table_name)
        table.lambda_event_source_mappings.pop(esm.function_arn, None)  # moto would fire it inside the write
        source = DynamoDBStreamSource(mapping, table_name)
    else:
        stream = next(s for s in kinesis_backends[account][region].streams.values() if s.arn == arn)
        stream.lambda_event_source_mappings.pop(arn, None)
        source = KinesisSource(mapping)
    return source, esm.starting_position or "LATEST"


# ------------------------------------------------------------------ what the SQS poller does through moto
def _queue_name(mapping: SqsMapping) -> str:
    return Arn.parse(mapping.queue_arn).name


def _receive(mapping: SqsMapping) -> list[Any]:
    backend = sqs_backends[mapping.account_id][mapping.region]
    queue: Any = backend.get_queue(_queue_name(mapping))
    return list(
        backend.receive_message(
            queue.name,
            min(mapping.batch_size, 10),
            0,
            int(queue.visibility_timeout),
            message_attribute_names=["All"],
        )
    )


def _visible(mapping: SqsMapping) -> int:
    queue = sqs_backends[mapping.account_id][mapping.region].queues.get(_queue_name(mapping))
    return 0 if queue is None else int(queue.approximate_number_of_messages)


def _invoke(engine: Engine, mapping: SqsMapping, event: str) -> InvocationResult:
    return engine.invoke_function(mapping.account_id, mapping.region, mapping.function_arn, event)


def _delete(mapping: SqsMapping, messages: list[Any]) -> None:
    backend = sqs_backends[mapping.account_id][mapping.region]
    for message in messages:
        backend.delete_message(_queue_name(mapping), message.receipt_handle)
