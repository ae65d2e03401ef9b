"""On SQS a step task's trace context is also on the message, where AWS-side tooling reads it:
W3C message attributes and the X-Ray AWSTraceHeader system attribute (against moto's server)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

pytest.importorskip("aioboto3", reason="the aws extra is not installed")

import boto3

from assetcore.config import Settings
from assetcore.proto.v1 import step_pb2
from assetcore.queues.base import OutgoingMessage
from assetcore.queues.sqs import SqsStepQueue, ensure_queues
from assetcore.telemetry import tracing
from tests.support.moto_server import unique_aws_settings

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
XRAY = "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"


def task(step_id: str, traceparent: str | None) -> bytes:
    message = step_pb2.StepTask(job_id="job_1", step_id=step_id, step_name="tti", tenant_id="ten_1")
    tracing.set_task_trace(message, traceparent)
    return message.SerializeToString()


async def test_step_tasks_carry_their_trace_as_message_attributes(moto_endpoint: str) -> None:
    aws = unique_aws_settings(moto_endpoint)
    await ensure_queues(Settings(aws=aws), ["tti"])
    queue = SqsStepQueue(aws)
    try:
        await queue.send("tti", task("stp_single", TRACEPARENT))
        await queue.send_many(
            [
                OutgoingMessage("tti", task("stp_batch", TRACEPARENT)),
                OutgoingMessage("tti", task("stp_none", None)),
            ]
        )
        name = queue.physical_name("tti")
    finally:
        await queue.close()

    def receive_raw() -> list[dict[str, Any]]:
        client = boto3.client("sqs", region_name=aws.region, endpoint_url=aws.endpoint_url)
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
        response = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["AWSTraceHeader"],
        )
        return list(response.get("Messages", []))

    raw = await asyncio.to_thread(receive_raw)
    by_step: dict[str, dict[str, Any]] = {}
    for message in raw:
        decoded = step_pb2.StepTask.FromString(base64.b64decode(message["Body"]))
        by_step[decoded.step_id] = message
        # The body keeps the context too: it is what the worker reads.
        assert dict(decoded.trace_context) == (
            {} if decoded.step_id == "stp_none" else {"traceparent": TRACEPARENT}
        )
    assert set(by_step) == {"stp_single", "stp_batch", "stp_none"}

    for step_id in ("stp_single", "stp_batch"):
        attributes = by_step[step_id]["MessageAttributes"]
        assert attributes == {"traceparent": {"DataType": "String", "StringValue": TRACEPARENT}}
    assert by_step["stp_single"]["Attributes"]["AWSTraceHeader"] == XRAY
    assert "MessageAttributes" not in by_step["stp_none"]
    assert "AWSTraceHeader" not in by_step["stp_none"].get("Attributes", {})
