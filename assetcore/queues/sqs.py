"""StepQueue on Amazon SQS (aws profile).

Layout: the logical queue `name` is three SQS standard queues, `<prefix><name>`,
`<prefix><name>-high` and `<prefix><name>-dlq`; both work queues redrive to the DLQ after
`max_receives` deliveries (CDK creates them in production, ensure_queues() in tests).

Priority: SQS has none, so a message whose priority is above PRIORITY_NORMAL (i.e.
PRIORITY_HIGH) goes to the `-high` queue, everything else (unspecified, low, normal) to
the normal one. receive() polls, for each name in order, `-high` before normal: earlier
names drain first and high before normal within a name. Each receive first sweeps all of
them without waiting; an idle consumer then long-polls each in turn for POLL_SLICE_S until
wait_s is up, so a new message is seen within about one slice per queue polled. SQS waits
in whole seconds, so the last wait is rounded up to a whole second.

Fairness: a message's group (its tenant) is its MessageGroupId. On standard queues that makes
them SQS fair queues (no queue setting needed): when one tenant holds a disproportionate share
of the in-flight messages, SQS returns the other tenants' messages first, so one tenant's
burst does not hold up another's work. FIFO queues with a group per tenant were the older way;
they deliver one message per group at a time (a tenant's steps would run one by one) and take
no per-message delay (our retries need one).

Tracing: a StepTask's trace context (its `trace_context`) also goes on the message as the
`traceparent`/`tracestate` message attributes and the X-Ray `AWSTraceHeader` system
attribute, for AWS-side tooling; the worker reads it from the body.

Bodies are base64 (SQS bodies must be text; ours are protobuf bytes). A receipt is
`<lane>:<SQS receipt handle>`, opaque to callers: it remembers which of the two work
queues the message came from. SQS accepts an older receipt handle of a redelivered message
for delete (as it documents); StaleReceipt is raised where SQS rejects the handle.
Limits: delays are clamped to 0..900 s and visibility timeouts to 0..43200 s (SQS's).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import math
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from assetcore.adapters import max_receives
from assetcore.aws_client import LazyClient, describe_error, error_code
from assetcore.config import AwsSettings, Settings
from assetcore.proto.v1 import job_pb2
from assetcore.queues.base import (
    OutgoingMessage,
    QueueDepth,
    QueueError,
    QueueMessage,
    StaleReceipt,
    dlq_name,
)
from assetcore.telemetry import tracing

log = logging.getLogger(__name__)

HIGH_SUFFIX = "-high"
MAX_DELAY_S = 900  # SQS DelaySeconds limit
MAX_VISIBILITY_S = 43200  # SQS VisibilityTimeout limit
MAX_BATCH = 10  # SQS MaxNumberOfMessages limit
MAX_BODY_BYTES = 256 * 1024
# Long-poll slice per queue (SQS allows up to 20 s): short, because a wait on one queue is
# blind to the others, and every logical queue is two SQS queues.
POLL_SLICE_S = 1
DLQ_RETENTION_S = 14 * 24 * 3600

_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_GROUP = re.compile(r"[!-~]{1,128}")  # MessageGroupId: alphanumerics and punctuation
_LANES = ("high", "normal")
_STALE_CODES = {"ReceiptHandleIsInvalid", "MessageNotInflight"}
_MISSING_CODES = {"NonExistentQueue", "QueueDoesNotExist"}


def _bare(code: str) -> str:
    """'AWS.SimpleQueueService.NonExistentQueue' -> 'NonExistentQueue'."""
    return code.rsplit(".", 1)[-1]


@contextlib.contextmanager
def _translated(action: str, queue: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = _bare(error_code(exc))
        detail = describe_error(exc)
        expired = code == "InvalidParameterValue" and "receipt handle" in detail.lower()
        if code in _STALE_CODES or expired:
            raise StaleReceipt(f"{action} on queue {queue!r}: {detail}") from exc
        if code in _MISSING_CODES:
            raise QueueError(
                f"SQS queue {queue!r} does not exist (deploy the stack or run ensure_queues)"
            ) from exc
        raise QueueError(f"{action} on queue {queue!r} failed: {detail}") from exc
    except BotoCoreError as exc:
        raise QueueError(f"{action} on queue {queue!r} failed: {describe_error(exc)}") from exc


def queue_name(prefix: str, queue: str, lane: str = "normal") -> str:
    """The SQS queue name of a logical queue's lane ('high', 'normal' or 'dlq')."""
    suffix = {"high": HIGH_SUFFIX, "normal": "", "dlq": dlq_name("")}[lane]
    name = f"{prefix}{queue}{suffix}"
    if not _NAME.fullmatch(name):
        raise ValueError(f"queue name {name!r} is not a valid SQS name (1-80 letters, digits, '-' or '_')")
    return name


def _seconds(value: float, upper: int) -> int:
    return min(upper, max(0, math.ceil(value)))


def trace_attributes(body: bytes) -> dict[str, Any]:
    """SendMessage parameters carrying a StepTask's trace context where AWS tooling sees it: W3C
    `traceparent`/`tracestate` message attributes (what OpenTelemetry's SQS instrumentations
    read) and the X-Ray `AWSTraceHeader` system attribute. {} for a body without a trace."""
    headers = tracing.trace_headers(body)
    if not headers:
        return {}
    params: dict[str, Any] = {
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in headers.items()}
    }
    xray = tracing.xray_trace_header(headers[tracing.TRACEPARENT])
    if xray is not None:
        params["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String", "StringValue": xray}}
    return params


def group_parameter(group: str) -> dict[str, str]:
    """SendMessage's MessageGroupId for a tenant ({} for none): the fair-queue tenant."""
    if not group:
        return {}
    if not _GROUP.fullmatch(group):
        raise ValueError(f"group {group[:20]!r} is not a valid MessageGroupId (1-128 printable ASCII)")
    return {"MessageGroupId": group}


class SqsStepQueue:
    def __init__(self, settings: AwsSettings) -> None:
        self._prefix = settings.queue_prefix
        self._client = LazyClient("sqs", settings)
        self._urls: dict[str, str] = {}

    def physical_name(self, queue: str, lane: str = "normal") -> str:
        return queue_name(self._prefix, queue, lane)

    async def _url(self, name: str) -> str:
        url = self._urls.get(name)
        if url is None:
            client = await self._client.get()
            with _translated("GetQueueUrl", name):
                url = str((await client.get_queue_url(QueueName=name))["QueueUrl"])
            self._urls[name] = url
        return url

    async def _send_raw(
        self, name: str, text: str, delay: int, trace: dict[str, Any] | None = None, group: str = ""
    ) -> str:
        if len(text) > MAX_BODY_BYTES:
            raise QueueError(f"message for {name!r} is {len(text)} bytes encoded; SQS takes {MAX_BODY_BYTES}")
        url = await self._url(name)
        client = await self._client.get()
        with _translated("SendMessage", name):
            response = await client.send_message(
                QueueUrl=url, MessageBody=text, DelaySeconds=delay, **(trace or {}), **group_parameter(group)
            )
        return str(response["MessageId"])

    def _lane_name(self, queue: str, priority: int) -> str:
        return self.physical_name(queue, "high" if priority > job_pb2.PRIORITY_NORMAL else "normal")

    async def send(
        self, queue: str, body: bytes, *, priority: int = 0, delay_s: float = 0.0, group: str = ""
    ) -> str:
        text = base64.b64encode(body).decode("ascii")
        name = self._lane_name(queue, priority)
        return await self._send_raw(name, text, _seconds(delay_s, MAX_DELAY_S), trace_attributes(body), group)

    async def send_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """SendMessageBatch, ten entries per call, per physical queue; any failed entry raises."""
        by_queue: dict[str, list[OutgoingMessage]] = {}
        for message in messages:
            by_queue.setdefault(self._lane_name(message.queue, message.priority), []).append(message)
        client = await self._client.get()
        for name, batch in by_queue.items():
            url = await self._url(name)
            for start in range(0, len(batch), MAX_BATCH):
                entries = []
                for i, message in enumerate(batch[start : start + MAX_BATCH]):
                    text = base64.b64encode(message.body).decode("ascii")
                    if len(text) > MAX_BODY_BYTES:
                        raise QueueError(
                            f"message for {name!r} is {len(text)} bytes encoded; SQS takes {MAX_BODY_BYTES}"
                        )
                    delay = _seconds(message.delay_s, MAX_DELAY_S)
                    entries.append(
                        {
                            "Id": str(i),
                            "MessageBody": text,
                            "DelaySeconds": delay,
                            **trace_attributes(message.body),
                            **group_parameter(message.group),
                        }
                    )
                with _translated("SendMessageBatch", name):
                    response = await client.send_message_batch(QueueUrl=url, Entries=entries)
                if response.get("Failed"):
                    failed = response["Failed"][0]
                    raise QueueError(
                        f"SendMessageBatch to {name!r} failed: {failed.get('Code')}: {failed.get('Message')}"
                    )

    async def receive(
        self, queues: Sequence[str], *, max_messages: int, visibility_timeout_s: float, wait_s: float
    ) -> list[QueueMessage]:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, got {max_messages}")
        lanes = [(queue, lane) for queue in queues for lane in _LANES]
        if not lanes:
            raise ValueError("receive needs at least one queue name")
        visibility = _seconds(visibility_timeout_s, MAX_VISIBILITY_S)
        deadline = time.monotonic() + max(0.0, wait_s)
        first_pass = True
        while True:
            received: list[QueueMessage] = []
            longest_wait = 0
            for queue, lane in lanes:
                room = max_messages - len(received)
                if room <= 0:
                    break
                # The first sweep and the rest of a pass that found something don't wait.
                wait = 0 if first_pass or received else _seconds(deadline - time.monotonic(), POLL_SLICE_S)
                longest_wait = max(longest_wait, wait)
                received += await self._receive_lane(queue, lane, min(room, MAX_BATCH), visibility, wait)
            if received or deadline <= time.monotonic() or (not first_pass and longest_wait == 0):
                return received
            first_pass = False

    async def _receive_lane(
        self, queue: str, lane: str, count: int, visibility: int, wait: int
    ) -> list[QueueMessage]:
        name = self.physical_name(queue, lane)
        url = await self._url(name)
        client = await self._client.get()
        with _translated("ReceiveMessage", name):
            response = await client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=count,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            )
        messages = []
        for raw in response.get("Messages", []):
            message = await self._decode(queue, lane, raw)
            if message is not None:
                messages.append(message)
        return messages

    async def _decode(self, queue: str, lane: str, raw: dict[str, Any]) -> QueueMessage | None:
        attributes = raw.get("Attributes", {})
        fields: dict[str, Any] = {
            "queue": queue,
            "message_id": str(raw["MessageId"]),
            "receipt": f"{lane}:{raw['ReceiptHandle']}",
            "receive_count": int(attributes.get("ApproximateReceiveCount", 1)),
            "enqueued_at": int(attributes.get("SentTimestamp", 0)) / 1000.0,
        }
        try:
            return QueueMessage(body=base64.b64decode(raw["Body"], validate=True), **fields)
        except binascii.Error:
            # Not ours (nothing we send fails this): park it in the DLQ rather than fail the batch.
            log.warning("queue %s: message %s is not base64; dead-lettered", queue, fields["message_id"])
            await self._send_raw(self.physical_name(queue, "dlq"), raw["Body"], 0)
            await self.delete(QueueMessage(body=b"", **fields))
            return None

    def _handle(self, message: QueueMessage) -> tuple[str, str]:
        """(SQS queue name, receipt handle) of a received message."""
        lane, sep, handle = message.receipt.partition(":")
        if not sep or lane not in _LANES:
            raise StaleReceipt(f"receipt {message.receipt[:40]!r} was not issued by SqsStepQueue")
        return self.physical_name(message.queue, lane), handle

    async def delete(self, message: QueueMessage) -> None:
        name, handle = self._handle(message)
        url = await self._url(name)
        client = await self._client.get()
        with _translated("DeleteMessage", name):
            await client.delete_message(QueueUrl=url, ReceiptHandle=handle)

    async def change_visibility(self, message: QueueMessage, timeout_s: float) -> None:
        name, handle = self._handle(message)
        url = await self._url(name)
        client = await self._client.get()
        with _translated("ChangeMessageVisibility", name):
            await client.change_message_visibility(
                QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=_seconds(timeout_s, MAX_VISIBILITY_S)
            )

    async def dead_letter(self, message: QueueMessage) -> None:
        """Copy the body to the DLQ, then delete the original (a crash in between leaves both)."""
        self._handle(message)  # a foreign receipt fails before anything is sent
        text = base64.b64encode(message.body).decode("ascii")
        await self._send_raw(
            self.physical_name(message.queue, "dlq"), text, 0, trace_attributes(message.body)
        )
        await self.delete(message)

    async def _counts(self, name: str) -> tuple[int, int, int]:
        url = await self._url(name)
        client = await self._client.get()
        with _translated("GetQueueAttributes", name):
            response = await client.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )
        attributes = response.get("Attributes", {})
        return (
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    async def depth(self, queue: str) -> QueueDepth:
        """Both work queues summed; `dead` counts every message in the DLQ. SQS counts are approximate."""
        high, normal, dead = await asyncio.gather(
            self._counts(self.physical_name(queue, "high")),
            self._counts(self.physical_name(queue, "normal")),
            self._counts(self.physical_name(queue, "dlq")),
        )
        return QueueDepth(
            visible=high[0] + normal[0],
            in_flight=high[1] + normal[1],
            delayed=high[2] + normal[2],
            dead=sum(dead),
        )

    async def create_queues(self, queues: Sequence[str], *, max_receives: int) -> None:
        """Create each queue's DLQ and both work queues with a redrive policy (idempotent)."""
        if max_receives < 1:
            raise ValueError(f"max_receives must be at least 1, got {max_receives}")
        client = await self._client.get()
        for queue in queues:
            dlq = self.physical_name(queue, "dlq")
            with _translated("CreateQueue", dlq):
                dlq_url = (
                    await client.create_queue(
                        QueueName=dlq, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_S)}
                    )
                )["QueueUrl"]
                arn = (await client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]))[
                    "Attributes"
                ]["QueueArn"]
            self._urls[dlq] = dlq_url
            redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receives)})
            for lane in _LANES:
                name = self.physical_name(queue, lane)
                with _translated("CreateQueue", name):
                    response = await client.create_queue(
                        QueueName=name, Attributes={"RedrivePolicy": redrive}
                    )
                self._urls[name] = response["QueueUrl"]

    async def close(self) -> None:
        await self._client.close()


async def ensure_queues(settings: Settings, step_names: Sequence[str]) -> None:
    """Create the step queues of settings.aws (tests, local bootstrap; CDK does it in production)."""
    queue = SqsStepQueue(settings.aws)
    try:
        await queue.create_queues(step_names, max_receives=max_receives(settings))
    finally:
        await queue.close()
