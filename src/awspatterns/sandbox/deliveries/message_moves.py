"""SQS message move tasks, the API behind dead-letter queue redrive, which moto 5.2.5 lacks:
``StartMessageMoveTask``, ``ListMessageMoveTasks`` and ``CancelMessageMoveTask``, as SQS documents them.

* The source must be a dead-letter queue of another SQS queue (some queue's ``RedrivePolicy`` names it), else
  ``InvalidParameterValue``; a source or destination that does not exist is ``ResourceNotFoundException`` (HTTP 404).
* Messages move to ``DestinationArn``, or without one each back to the queue whose redrive policy moved it into the
  dead-letter queue (the sandbox records that queue when the move happens). A message that reached the dead-letter
  queue another way (sent to it, as Lambda's destinations and DLQs do) has no such queue: the task then fails
  with a ``FailureReason`` that says so and leaves the message where it is (AWS does not document this case).
* A task moves the messages that were visible in the source when it started (``ApproximateNumberOfMessagesToMove``),
  oldest first, each as a new message (new id and sent time, receive count 0) with its body and message attributes;
  a message deleted or received by someone else before its turn is skipped.
* ``MaxNumberOfMessagesPerSecond`` (1 to 500) paces the moves; without it the sandbox moves as fast as it can.
* One active task per source queue; ``CancelMessageMoveTask`` stops a ``RUNNING`` task after the message in hand
  (``CANCELLING``, then ``CANCELLED``) and keeps what moved; a destination deleted mid-task fails the task with
  ``AWS.SimpleQueueService.NonExistentQueue``. ``ListMessageMoveTasks`` gives the most recent tasks of a source
  (``MaxResults`` 1 to 10, default 1), with the ``TaskHandle`` of a running one.
* Task handles are base64-encoded JSON ``{"taskId", "sourceArn"}``, as SQS's are.

Each step of a task (one message when paced, every message otherwise; the copy sent, then the original deleted)
is one unit of ``engine.activity``, and a running task keeps the component busy, so ``quiesce`` waits for a
redrive and for what the moved messages then cause.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends
from moto.sqs.responses import SQSResponse

from awspatterns.sandbox.arns import Arn
from awspatterns.sandbox.deliveries.activity import Activity
from awspatterns.sandbox.deliveries.message_move_tasks import (
    MAX_RATE,
    MAX_RESULTS,
    NON_EXISTENT_QUEUE,
    MoveTask,
    MoveTaskError,
    decode_task_handle,
    invalid,
    not_found,
    parse_queue_arn,
    queue_of,
)
from awspatterns.sandbox.patching import add, replace
from awspatterns.sandbox.subsystem import Engine, Patched, Reads, fields

__all__ = ["ADDED", "PATCHED", "READS", "MessageMoves", "install"]

log = logging.getLogger("awspatterns.sandbox.deliveries.message_moves")

#: What this module wraps or calls in moto (checked by the canary tests).
PATCHED: Patched = (
    (SQSBackend, "receive_message"),
    (SQSBackend, "send_message"),
    (SQSResponse, "serialized"),
)

#: What this module gives moto, which moto must still lack (``patching.add`` fails loudly once it has them).
ADDED: Patched = (
    (SQSResponse, "start_message_move_task"),
    (SQSResponse, "list_message_move_tasks"),
    (SQSResponse, "cancel_message_move_task"),
)

#: The moto state this module reads or changes without patching it (checked by the canary tests).
READS: Reads = (
    (SQSBackend, "queues"),
    *fields(
        Queue,
        "_messages",
        "_messages_lock",
        "pending_messages",
        "redrive_policy",
        "dead_letter_queue",
        "fifo_queue",
        "queue_arn",
    ),
    *fields(Message, "id", "body", "message_attributes", "group_id", "visible", "approximate_receive_count"),
)


class MessageMoves:
    """The message move tasks of every account: started, listed and cancelled through the SQS API, run on one
    thread each, and the original queue of each message a redrive policy moved into a dead-letter queue."""

    def __init__(self, activity: Activity | None = None) -> None:
        self.activity = activity or Activity()
        self._lock = threading.Lock()
        self._tasks: dict[str, list[MoveTask]] = {}  # source ARN -> tasks, newest first
        self._origins: dict[str, str] = {}  # message id -> ARN of the queue whose redrive policy dead-lettered it
        self._stopped = threading.Event()

    # ------------------------------------------------------------------ the component
    def busy(self) -> bool:
        """Whether a task still runs."""
        with self._lock:
            return any(task.active for tasks in self._tasks.values() for task in tasks)

    def shutdown(self) -> None:
        """Stop every task after the message in hand."""
        self._stopped.set()
        with self._lock:
            for tasks in self._tasks.values():
                for task in tasks:
                    task.wake.set()

    # ------------------------------------------------------------------ where dead-lettered messages came from
    def wrap_receive(self, original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        """Wrap ``SQSBackend.receive_message`` so that a message its redrive policy moves to the dead-letter queue
        remembers the queue it came from (where a redrive without ``DestinationArn`` returns it)."""
        moves = self

        def receive_message(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> list[Any]:
            queue = backend.queues.get(queue_name)
            policy = getattr(queue, "redrive_policy", None)
            candidates: set[str] = set()
            if queue is not None and policy and queue.dead_letter_queue is not None:
                limit = int(policy["maxReceiveCount"])
                candidates = {m.id for m in list(queue._messages) if m.approximate_receive_count >= limit}
            result = original(backend, queue_name, *args, **kwargs)
            if candidates:
                dead_lettered = candidates & {m.id for m in list(queue.dead_letter_queue._messages)}
                with moves._lock:
                    moves._origins.update(dict.fromkeys(dead_lettered, queue.queue_arn))
            return result

        return receive_message

    def origin(self, message_id: str) -> str | None:
        """The ARN of the queue whose redrive policy moved this message to a dead-letter queue, if one did."""
        with self._lock:
            return self._origins.get(message_id)

    # ------------------------------------------------------------------ the API
    def start(self, source_arn: object, destination_arn: object, rate: object) -> MoveTask:
        """``StartMessageMoveTask``: validate, then start moving on a thread of its own.

        Raises:
            MoveTaskError: what SQS answers for the request.
        """
        source_arn = parse_queue_arn(source_arn, "SourceArn")
        source = queue_of(source_arn)
        if source is None:
            raise not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        if rate is not None and (not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= MAX_RATE):
            raise invalid(
                f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
                f"Reason: Must be between 1 and {MAX_RATE}, if provided."
            )
        parsed = Arn.parse(source_arn)
        backend = sqs_backends[parsed.account][parsed.region]
        if not any(
            (q.redrive_policy or {}).get("deadLetterTargetArn") == source_arn for q in list(backend.queues.values())
        ):
            raise invalid("Source queue must be configured as a Dead Letter Queue.")
        if destination_arn is not None:
            destination_arn = parse_queue_arn(destination_arn, "DestinationArn")
            destination = queue_of(destination_arn)
            if destination is None:
                raise not_found("The resource that you specified for the DestinationArn parameter doesn't exist.")
            if destination_arn == source_arn:
                raise invalid("Source queue arn and destination queue arn cannot be the same.")
            if bool(destination.fifo_queue) != bool(source.fifo_queue):
                raise invalid("The destination queue must be of the same type (standard or FIFO) as the source queue.")
        with self._lock:
            if any(task.active for task in self._tasks.get(source_arn, [])):
                raise invalid(
                    "There is already a task running. Only one active task is allowed for a source queue arn at a "
                    "given time."
                )
            visible = [m.id for m in list(source._messages) if m.visible]
            task = MoveTask(source_arn, destination_arn, rate, visible)
            self._tasks[source_arn] = [task, *self._tasks.get(source_arn, [])][:MAX_RESULTS]
        threading.Thread(target=self._run, args=(task,), name=f"message-move-{task.task_id[:8]}", daemon=True).start()
        return task

    def list(self, source_arn: object, max_results: object) -> list[dict[str, Any]]:
        """``ListMessageMoveTasks``: the most recent tasks of a source queue, newest first.

        Raises:
            MoveTaskError: what SQS answers for the request.
        """
        source_arn = parse_queue_arn(source_arn, "SourceArn")
        if queue_of(source_arn) is None:
            raise not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        if max_results is None:
            max_results = 1
        if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= MAX_RESULTS:
            raise invalid(
                f"Value {max_results} for parameter MaxResults is invalid. "
                f"Reason: You must enter a number that's between 1 and {MAX_RESULTS}."
            )
        with self._lock:
            return [task.describe() for task in self._tasks.get(source_arn, [])[:max_results]]

    def cancel(self, handle: object) -> int:
        """``CancelMessageMoveTask``: stop a running task after the message in hand; returns how many moved.

        Raises:
            MoveTaskError: what SQS answers for the request.
        """
        if not isinstance(handle, str):
            raise invalid("Value for parameter TaskHandle is invalid.")
        task_id, source_arn = decode_task_handle(handle)
        try:
            exists = queue_of(source_arn) is not None
        except ValueError:
            exists = False
        if not exists:
            raise not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        with self._lock:
            task = next((t for t in self._tasks.get(source_arn, []) if t.task_id == task_id), None)
            if task is None:
                raise not_found("Task does not exist.")
            if task.status != "RUNNING":
                raise invalid(f"Only a task whose status is RUNNING can be cancelled; this one is {task.status}.")
            task.status = "CANCELLING"
            task.wake.set()
            return task.moved

    # ------------------------------------------------------------------ moving
    def _run(self, task: MoveTask) -> None:
        interval_s = 1.0 / task.rate if task.rate else 0.0
        while True:
            with self.activity.unit():
                finished = self._step(task)
            if finished:
                return
            if interval_s and task.wake.wait(interval_s):
                continue  # woken early: cancelled or stopping, which the next step sees

    def _step(self, task: MoveTask) -> bool:
        """Move the next message; returns whether the task is over (and sets its final status)."""
        try:
            return self._move_next(task)
        except Exception as error:  # a fault of the sandbox: fail the task visibly rather than hang it
            log.exception("message move task %s failed", task.task_id)
            self._finish(task, "FAILED", f"sandbox error: {error}")
            return True

    def _move_next(self, task: MoveTask) -> bool:
        if task.status == "CANCELLING" or self._stopped.is_set():
            self._finish(task, "CANCELLED")
            return True
        source = queue_of(task.source_arn)
        if source is None:
            self._finish(task, "FAILED", NON_EXISTENT_QUEUE)
            return True
        while task.pending:
            message = next((m for m in list(source._messages) if m.id == task.pending[0]), None)
            if message is None or not message.visible:  # deleted, or received by a consumer meanwhile
                task.pending.pop(0)
                continue
            destination_arn = task.destination_arn or self.origin(message.id)
            if destination_arn is None:
                self._finish(
                    task,
                    "FAILED",
                    f"message {message.id} did not reach the dead-letter queue through a redrive policy, so it has "
                    "no original source queue; start the task with a DestinationArn",
                )
                return True
            destination = queue_of(destination_arn)
            if destination is None:
                self._finish(task, "FAILED", NON_EXISTENT_QUEUE)
                return True
            self._move(message, source, destination, destination_arn)
            task.pending.pop(0)
            with self._lock:
                task.moved += 1
            if task.pending and task.rate:
                return False  # paced: the next message after the interval
        self._finish(task, "COMPLETED")
        return True

    def _move(self, message: Any, source: Any, destination: Any, destination_arn: str) -> None:
        """Send a copy to the destination (a new message), then delete the original: never lost, at worst twice."""
        parsed = Arn.parse(destination_arn)
        fifo = bool(destination.fifo_queue)
        sqs_backends[parsed.account][parsed.region].send_message(
            destination.name,
            message.body,
            message_attributes=copy.deepcopy(message.message_attributes) or None,
            group_id=message.group_id if fifo else None,
            deduplication_id=message.id if fifo else None,
        )
        with source._messages_lock:
            if message in source._messages:
                source._messages.remove(message)
        source.pending_messages.discard(message)
        with self._lock:
            self._origins.pop(message.id, None)

    def _finish(self, task: MoveTask, status: str, failure: str | None = None) -> None:
        with self._lock:
            task.status = status
            task.failure = failure
        if failure:
            log.warning("message move task %s from %s failed: %s", task.task_id, task.source_arn, failure)


def install(engine: Engine) -> None:
    """Give moto's SQS the three operations and remember where dead-lettered messages came from."""
    moves = MessageMoves(engine.activity)
    replace(SQSBackend, "receive_message", moves.wrap_receive(SQSBackend.receive_message))

    def answer(call: Callable[[Any], dict[str, Any]]) -> Callable[[Any], Any]:
        def handler(response: Any) -> Any:
            try:
                return ActionResult(call(response))
            except MoveTaskError as error:
                _, headers, body = response.serialized(ActionResult(error))
                headers["status"] = error.status  # SQS answers 404 for a missing queue or task
                return body, headers

        return handler

    def start(r: Any) -> dict[str, Any]:
        source, destination = r._get_param("SourceArn"), r._get_param("DestinationArn")
        return {"TaskHandle": moves.start(source, destination, r._get_param("MaxNumberOfMessagesPerSecond")).handle}

    add(SQSResponse, "start_message_move_task", answer(start))
    add(
        SQSResponse,
        "list_message_move_tasks",
        answer(lambda r: {"Results": moves.list(r._get_param("SourceArn"), r._get_param("MaxResults"))}),
    )
    add(
        SQSResponse,
        "cancel_message_move_task",
        answer(lambda r: {"ApproximateNumberOfMessagesMoved": moves.cancel(r._get_param("TaskHandle"))}),
    )
    engine.add_component(moves)
