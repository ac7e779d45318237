"""The sandbox engine: moto's backends, plus the Lambda runtime and trigger semantics wired into them.

:func:`SandboxEngine.install` patches moto in this process (the sandbox server process). Every patched moto
internal is listed in ``PATCHED`` and checked by the canary tests, so a moto upgrade that moves one fails loudly.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda.utils import get_backend as lambda_backend
from moto.core.utils import unix_time_millis
from moto.dynamodb.models import dynamodb_backends
from moto.iam.access_control import PermissionResult
from moto.kinesis.models import kinesis_backends
from moto.kms.models import Key as KmsKey
from moto.logs.models import logs_backends
from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeBucket
from moto.sns import models as sns_models
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from awspatterns.sandbox import cfn_apigateway, cfn_models, cfn_rds, data_api, eventbridge, firehose, stack_lifecycle
from awspatterns.sandbox.cfn_support import (
    CustomResources,
    SandboxUnsupported,
    install_custom_resources,
)
from awspatterns.sandbox.eventbridge import EventRouter
from awspatterns.sandbox.native_resources import NATIVE_HANDLERS
from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.postgres import PostgresServers
from awspatterns.sandbox.runtime import FunctionSpec, InvocationResult, LambdaRuntime
from awspatterns.sandbox.streams import (
    DynamoDBStreamSource,
    KinesisSource,
    StreamMapping,
    StreamPoller,
    filter_criteria,
)
from awspatterns.sandbox.triggers import (
    DEFAULT_RETRY_DELAYS_S,
    AsyncInvocation,
    AsyncInvoker,
    SqsMapping,
    SqsPoller,
)

log = logging.getLogger("awspatterns.sandbox")

#: The moto internals the sandbox replaces, wraps or calls: (object, attribute). Canary tests check each exists.
PATCHED = (
    (lambda_models.LambdaFunction, "invoke"),
    (lambda_models.LambdaFunction, "_invoke_lambda"),
    (lambda_models.LambdaFunction, "create_from_cloudformation_json"),
    (lambda_models.LambdaBackend, "create_event_source_mapping"),
    (lambda_models.LambdaBackend, "create_function"),
    (sns_models.Subscription, "publish"),
    (FakeBucket, "get_permission"),
    (KmsKey, "create_from_cloudformation_json"),
    (s3_notifications, "_get_s3_event"),
    (s3_notifications, "_send_sns_message"),
    *stack_lifecycle.PATCHED,
    *cfn_apigateway.PATCHED,
    *eventbridge.PATCHED,
    *cfn_rds.PATCHED,
    *data_api.PATCHED,
    *firehose.PATCHED,
)


class SandboxEngine:
    """Everything the sandbox adds to moto, for one server process."""

    def __init__(
        self,
        endpoint_url: str,
        work_dir: Path,
        retry_delays_s: tuple[float, ...] | None = None,
        firehose_interval_s: float = 1.0,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.runtime = LambdaRuntime(endpoint_url, work_dir)
        self.async_invoker = AsyncInvoker(self.invoke_function, self.deliver, retry_delays_s or DEFAULT_RETRY_DELAYS_S)
        self.postgres = PostgresServers()
        self.firehose = firehose.FirehoseBuffers(firehose_interval_s)
        self.data_api = data_api.DataApi()
        self.sqs_poller = SqsPoller(
            self._sqs_receive, self._sqs_invoke, self._sqs_delete, self._mapping_enabled, self._sqs_visible
        )
        self.stream_poller = StreamPoller(
            self.invoke_function, self.deliver, self._mapping_enabled, retry_delays_s or DEFAULT_RETRY_DELAYS_S
        )
        self.custom_resources = CustomResources(self.invoke_function, NATIVE_HANDLERS)
        self._sequencer = itertools.count(int(time.time() * 1000))
        self._sequencer_lock = threading.Lock()

    # ------------------------------------------------------------------ installation
    def install(self) -> None:
        """Patch moto in this process. Call once, before the server handles requests."""
        engine = self
        cfn_models.register()
        cfn_apigateway.install()
        cfn_rds.install(self.postgres)
        data_api.install(self.data_api)
        self.firehose.install()
        EventRouter(self.deliver).install()
        install_custom_resources(self.custom_resources)

        def invoke(fn: Any, body: str, request_headers: Any, response_headers: dict[str, str]) -> bytes:
            return engine._api_invoke(fn, body, request_headers or {}, response_headers)

        def invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            result = engine.run(fn, json.dumps({} if event is None else event))
            return result.payload.decode(), result.errored, result.logs

        replace(lambda_models.LambdaFunction, "invoke", invoke)
        replace(lambda_models.LambdaFunction, "_invoke_lambda", invoke_lambda)
        self._wrap_function_creation()
        self._wrap_event_source_mappings()
        self._wrap_sns_lambda_delivery()
        self._wrap_s3_events()
        # moto evaluates bucket policies without their conditions, so a TLS-only Deny denies everything. Like
        # IAM policies, bucket policies are not enforced by the sandbox (a documented fidelity limit).
        replace(FakeBucket, "get_permission", lambda bucket, action, resource: PermissionResult.NEUTRAL)
        stack_lifecycle.install()
        self._fix_kms_key_policies()
        self.sqs_poller.start()
        self.stream_poller.start()

    def _wrap_function_creation(self) -> None:
        """Keep what moto's CloudFormation drops from a function: its log group and layers."""
        original_cfn = lambda_models.LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
        original_api = lambda_models.LambdaBackend.create_function

        def from_cloudformation(
            cls: Any,
            /,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            fn = original_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
            _remember_config(fn, cloudformation_json["Properties"])
            return fn

        def create_function(backend: Any, spec: dict[str, Any]) -> Any:
            fn = original_api(backend, spec)
            _remember_config(fn, spec)
            return fn

        replace(lambda_models.LambdaFunction, "create_from_cloudformation_json", classmethod(from_cloudformation))
        replace(lambda_models.LambdaBackend, "create_function", create_function)

    def _wrap_event_source_mappings(self) -> None:
        """Event sources are polled by the sandbox (SQS queues, DynamoDB and Kinesis streams) instead of being
        fired synchronously, once per write, inside the API call that wrote."""
        original = lambda_models.LambdaBackend.create_event_source_mapping
        engine = self

        def create(backend: Any, spec: dict[str, Any]) -> Any:
            esm = original(backend, spec)
            account, region, arn = backend.account_id, backend.region_name, esm.event_source_arn
            if arn.startswith("arn:aws:sqs:"):
                queue = sqs_backends[account][region].get_queue(arn.rsplit(":", 1)[-1])
                queue.lambda_event_source_mappings.pop(esm.function_arn, None)
                engine.sqs_poller.add(
                    SqsMapping(
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
                )
            elif ":dynamodb:" in arn or ":kinesis:" in arn:
                engine._add_stream_mapping(backend, esm)
            return esm

        replace(lambda_models.LambdaBackend, "create_event_source_mapping", create)

    def _add_stream_mapping(self, backend: Any, esm: Any) -> None:
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
        if ":dynamodb:" in arn:
            table_name = arn.split(":table/", 1)[1].split("/stream/", 1)[0]
            dynamodb_backends[account][region].get_table(table_name).lambda_event_source_mappings.pop(
                esm.function_arn, None
            )
            source = DynamoDBStreamSource(mapping, table_name)
        else:
            stream = next(s for s in kinesis_backends[account][region].streams.values() if s.arn == arn)
            stream.lambda_event_source_mappings.pop(arn, None)
            source = KinesisSource(mapping)
        self.stream_poller.add(source, esm.starting_position or "LATEST")

    def _wrap_sns_lambda_delivery(self) -> None:
        """SNS invokes Lambda asynchronously, with the real topic and subscription ARNs in the event."""
        original = sns_models.Subscription.publish
        engine = self

        def publish(
            subscription: Any,
            message: str,
            message_id: str,
            subject: str | None = None,
            message_attributes: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            if subscription.protocol != "lambda":
                return original(
                    subscription,
                    message,
                    message_id,
                    subject=subject,  # type: ignore[no-any-return]
                    message_attributes=message_attributes,
                    **kwargs,
                )
            matcher = subscription._filter_policy_matcher
            if matcher is not None and not matcher.matches(message_attributes, message):
                return None
            event = sns_event(subscription, message, message_id, subject, message_attributes or {})
            arn = subscription.endpoint
            engine.submit_async(arn.split(":")[4], arn.split(":")[3], arn, json.dumps(event))
            return None

        replace(sns_models.Subscription, "publish", publish)

    def _wrap_s3_events(self) -> None:
        """S3 events carry ``sequencer`` and ``versionId``, and SNS deliveries the S3 subject."""
        original_event = s3_notifications._get_s3_event
        engine = self

        def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
            event = original_event(event_name, bucket, key, notification_id)
            obj = event["Records"][0]["s3"]["object"]
            with engine._sequencer_lock:
                obj["sequencer"] = f"{next(engine._sequencer):016X}"
            if getattr(key, "version_id", None) and bucket.is_versioned:
                obj["versionId"] = key.version_id
            return event

        def send_sns(account_id: str, event_body: Any, topic_arn: str, region_name: str) -> None:
            try:
                sns_backends[topic_arn.split(":")[4]][region_name].publish(
                    arn=topic_arn, message=json.dumps(event_body), subject="Amazon S3 Notification"
                )
            except Exception:
                log.exception("S3 could not publish to %s", topic_arn)

        replace(s3_notifications, "_get_s3_event", s3_event)
        replace(s3_notifications, "_send_sns_message", send_sns)

    def _fix_kms_key_policies(self) -> None:
        """moto's CloudFormation stores a key policy as a dict, then fails parsing it on every KMS call."""
        original = KmsKey.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

        def create(cls: type, *args: Any, **kwargs: Any) -> Any:
            key = original(cls, *args, **kwargs)
            if isinstance(key.policy, dict):
                key.policy = json.dumps(key.policy)
            return key

        replace(KmsKey, "create_from_cloudformation_json", classmethod(create))

    # ------------------------------------------------------------------ invocation
    def run(self, fn: Any, event: str) -> InvocationResult:
        """Invoke a moto function synchronously and record its logs in CloudWatch Logs."""
        spec = function_spec(fn)
        result = self.runtime.invoke(spec, fn.code_bytes, event)
        self._write_logs(fn, spec, result)
        return result

    def invoke_function(self, account_id: str, region: str, function_arn: str, event: str) -> InvocationResult:
        """Invoke a function synchronously by ARN (or name) in an account and region."""
        fn = lambda_backend(account_id, region).get_function(function_arn)
        return self.run(fn, event)

    def _api_invoke(self, fn: Any, body: str, request_headers: Any, response_headers: dict[str, str]) -> bytes:
        invocation_type = request_headers.get("X-Amz-Invocation-Type") or request_headers.get(
            "x-amz-invocation-type", "RequestResponse"
        )
        event = body or "{}"
        if isinstance(event, (dict, list)):
            event = json.dumps(event)
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            self.submit_async(fn.account_id, fn.region, fn.function_arn, event)
            return b""
        result = self.run(fn, event)
        if result.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        tail = result.logs.encode()[-4096:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return result.payload

    def submit_async(self, account_id: str, region: str, function_arn: str, event: str) -> None:
        """Queue an asynchronous invocation, with the function's retry and destination settings."""
        fn = lambda_backend(account_id, region).get_function(function_arn)
        config = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
        dead_letter = getattr(fn, "_sandbox_dead_letter_arn", None)
        self.async_invoker.submit(AsyncInvocation(account_id, region, fn.function_arn, event), config, dead_letter)

    def deliver(self, account_id: str, region: str, target_arn: str, message: str) -> None:
        """Send a message to a destination ARN: SQS queue, SNS topic or Lambda function."""
        service, target_region, target_account = (
            target_arn.split(":")[2],
            target_arn.split(":")[3],
            target_arn.split(":")[4],
        )
        if service == "sqs":
            sqs_backends[target_account][target_region].send_message(target_arn.rsplit(":", 1)[-1], message)
        elif service == "sns":
            sns_backends[target_account][target_region].publish(arn=target_arn, message=message)
        elif service == "lambda":
            self.submit_async(target_account, target_region, target_arn, message)
        else:
            raise SandboxUnsupported(f"the sandbox cannot deliver to {target_arn}")

    def _write_logs(self, fn: Any, spec: FunctionSpec, result: InvocationResult) -> None:
        backend = logs_backends[spec.account_id][spec.region]
        backend.ensure_log_group(spec.log_group)
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{result.request_id.replace('-', '')}"
        backend.create_log_stream(spec.log_group, stream)
        now = int(unix_time_millis())
        lines = [line for line in result.logs.splitlines() if line] or ["(no output)"]
        for start in range(0, len(lines), 1000):
            backend.put_log_events(
                spec.log_group,
                stream,
                [{"timestamp": now, "message": line[:256_000]} for line in lines[start : start + 1000]],
            )

    # ------------------------------------------------------------------ SQS event sources
    def _sqs_receive(self, mapping: SqsMapping) -> list[Any]:
        backend = sqs_backends[mapping.account_id][mapping.region]
        queue: Any = backend.get_queue(mapping.queue_arn.rsplit(":", 1)[-1])
        return list(
            backend.receive_message(
                queue.name,
                min(mapping.batch_size, 10),
                0,
                int(queue.visibility_timeout),
                message_attribute_names=["All"],
            )
        )

    def _sqs_visible(self, mapping: SqsMapping) -> int:
        queues = sqs_backends[mapping.account_id][mapping.region].queues
        queue = queues.get(mapping.queue_arn.rsplit(":", 1)[-1])
        return 0 if queue is None else int(queue.approximate_number_of_messages)

    def _sqs_invoke(self, mapping: SqsMapping, event: str) -> InvocationResult:
        return self.invoke_function(mapping.account_id, mapping.region, mapping.function_arn, event)

    def _sqs_delete(self, mapping: SqsMapping, messages: list[Any]) -> None:
        backend = sqs_backends[mapping.account_id][mapping.region]
        queue_name = mapping.queue_arn.rsplit(":", 1)[-1]
        for message in messages:
            backend.delete_message(queue_name, message.receipt_handle)

    def _mapping_enabled(self, mapping: SqsMapping | StreamMapping) -> bool | None:
        """Whether an event source mapping is enabled; ``None`` once it is deleted."""
        esm = lambda_backend(mapping.account_id, mapping.region)._event_source_mappings.get(mapping.uuid)
        return None if esm is None else bool(esm.enabled)

    def quiescent(self, timeout_s: float = 30.0) -> bool:
        """Wait until asynchronous invocations, SQS batches and stream records have drained, delivering what
        Firehose buffers meanwhile (tests use it instead of sleeping)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.firehose.flush()  # each round, so records buffered by work still in flight are delivered too
            busy = self.sqs_poller.busy() or self.stream_poller.busy()
            if self.async_invoker.idle(0.05) and not busy:
                return True
        return False

    def shutdown(self) -> None:
        """Stop the background work and every execution environment."""
        self.sqs_poller.stop()
        self.stream_poller.stop()
        self.firehose.stop()
        self.data_api.close()
        self.postgres.stop_all()
        self.async_invoker.shutdown()
        self.custom_resources.collector.shutdown()
        self.runtime.shutdown()


def _remember_config(fn: Any, properties: dict[str, Any]) -> None:
    log_group = (properties.get("LoggingConfig") or {}).get("LogGroup")
    if log_group:
        fn.logs_group_name = log_group
    fn._sandbox_layers = [
        layer if isinstance(layer, str) else layer.get("Arn", "") for layer in properties.get("Layers") or []
    ]
    fn._sandbox_dead_letter_arn = (properties.get("DeadLetterConfig") or {}).get("TargetArn")


def function_spec(fn: Any) -> FunctionSpec:
    """What the runtime needs of a moto function."""
    layers = getattr(fn, "_sandbox_layers", [])
    unknown = [arn for arn in layers if ":layer:AWSLambdaPowertoolsPython" not in arn]
    if unknown:
        raise SandboxUnsupported(f"function {fn.function_name} uses layers the sandbox cannot provide: {unknown}")
    return FunctionSpec(
        account_id=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        arn=fn.function_arn,
        handler=fn.handler,
        runtime=fn.run_time or "python3.11",
        timeout_s=float(fn.timeout),
        memory_mb=int(fn.memory_size),
        environment=tuple(sorted((k, str(v)) for k, v in fn.environment_vars.items())),
        code_sha256=fn.code_sha_256,
        log_group=fn.logs_group_name,
    )


def sns_event(
    subscription: Any, message: str, message_id: str, subject: str | None, attributes: dict[str, Any]
) -> dict[str, Any]:
    """The event SNS sends to a Lambda subscriber."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": subscription.topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "SignatureVersion": "1",
                    "Signature": "sandbox",
                    "SigningCertUrl": "https://sns.sandbox.invalid/cert.pem",
                    "UnsubscribeUrl": f"https://sns.sandbox.invalid/?Action=Unsubscribe&SubscriptionArn={subscription.arn}",
                    "MessageAttributes": {
                        name: {"Type": value["Type"], "Value": value["Value"]} for name, value in attributes.items()
                    },
                },
            }
        ]
    }
