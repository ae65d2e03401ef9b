"""Each step task goes out with its tenant as the message's fairness group: the relay sets it,
and on SQS it is the MessageGroupId that makes standard queues fair queues (against moto)."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest

pytest.importorskip("aioboto3", reason="the aws extra is not installed")

import boto3
from sqlalchemy import insert

from assetcore.config import Settings
from assetcore.db.database import close_database, open_database
from assetcore.db.migrate import upgrade
from assetcore.db.schema import outbox
from assetcore.events.relay import OutboxRelay
from assetcore.proto.v1 import step_pb2
from assetcore.queues.base import OutgoingMessage
from assetcore.queues.sqs import SqsStepQueue, ensure_queues
from tests.support.moto_server import unique_aws_settings


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def send_many(self, messages: list[OutgoingMessage]) -> None:
        self.sent.extend(messages)


def task(step_id: str, tenant: str) -> bytes:
    return step_pb2.StepTask(step_name="tti", step_id=step_id, tenant_id=tenant).SerializeToString()


async def test_the_relay_sends_each_task_in_its_tenants_group(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    await upgrade(url)
    db = open_database(url)
    try:
        rows = [
            {
                "kind": "enqueue",
                "topic": "tti",
                "payload": task(f"stp_{t}", t),
                "priority": 0,
                "delay_s": 0.0,
                "created_at": time.time() - 60,
            }
            for t in ("ten_a", "ten_b")
        ]
        await db.write(lambda conn: conn.execute(insert(outbox), rows))
        queue = RecordingQueue()
        assert await OutboxRelay(db, queue, None).poll_once() == 2  # type: ignore[arg-type]
    finally:
        await close_database(db)
    assert [m.group for m in queue.sent] == ["ten_a", "ten_b"]


async def test_sqs_messages_carry_the_tenant_as_message_group(moto_endpoint: str) -> None:
    aws = unique_aws_settings(moto_endpoint)
    await ensure_queues(Settings(aws=aws), ["tti"])
    queue = SqsStepQueue(aws)
    try:
        await queue.send("tti", task("stp_1", "ten_a"), group="ten_a")
        await queue.send_many(
            [OutgoingMessage("tti", task("stp_2", "ten_b"), group="ten_b"), OutgoingMessage("tti", b"none")]
        )
        with pytest.raises(ValueError, match="MessageGroupId"):
            await queue.send("tti", b"x", group="ten a")  # a space is not allowed
        name = queue.physical_name("tti")
    finally:
        await queue.close()

    def receive_raw() -> list[dict[str, Any]]:
        client = boto3.client("sqs", region_name=aws.region, endpoint_url=aws.endpoint_url)
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
        response = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
        )
        return list(response.get("Messages", []))

    groups = {
        base64.b64decode(m["Body"]): m.get("Attributes", {}).get("MessageGroupId")
        for m in await asyncio.to_thread(receive_raw)
    }
    assert groups == {task("stp_1", "ten_a"): "ten_a", task("stp_2", "ten_b"): "ten_b", b"none": None}
