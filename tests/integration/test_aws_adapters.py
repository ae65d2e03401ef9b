"""The aws-profile adapters (SQS, S3 + signed URLs, EventBridge) against a moto server."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("aioboto3", reason="the aws extra is not installed")

import boto3
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from assetcore import adapters
from assetcore.blobs.base import BlobNotFound, BlobStoreError, put_content
from assetcore.blobs.s3 import CloudFrontUrlSigner, S3BlobStore, S3PresignedUrlSigner, open_aws_signer
from assetcore.config import AwsSettings, RetryPolicy, Settings
from assetcore.events import eventbridge
from assetcore.events.eventbridge import EventBridgePublisher, EventPublishError
from assetcore.proto.v1 import events_pb2, job_pb2
from assetcore.queues.base import QueueError, QueueMessage, StaleReceipt
from assetcore.queues.sqs import SqsStepQueue, ensure_queues
from tests.support.moto_server import moto_server, provision, unique_aws_settings

STEPS = ["tti", "refine"]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(endpoint: str) -> AwsSettings:
    return unique_aws_settings(endpoint)


def boto(aws: AwsSettings, service: str) -> Any:
    return boto3.client(service, region_name=aws.region, endpoint_url=aws.endpoint_url)


async def open_queue(aws: AwsSettings, retry: RetryPolicy | None = None) -> SqsStepQueue:
    await ensure_queues(Settings(aws=aws, retry=retry or RetryPolicy()), STEPS)
    return SqsStepQueue(aws)


@pytest.fixture
async def queue(aws: AwsSettings) -> AsyncIterator[SqsStepQueue]:
    q = await open_queue(aws)
    yield q
    await q.close()


async def receive(q: SqsStepQueue, *, wait_s: float = 0.0, visibility_s: float = 30.0) -> list[QueueMessage]:
    return await q.receive(STEPS, max_messages=10, visibility_timeout_s=visibility_s, wait_s=wait_s)


# --- SQS ---------------------------------------------------------------------------------


async def test_receive_drains_earlier_queues_and_high_priority_first(queue: SqsStepQueue) -> None:
    binary = bytes(range(256))  # protobuf bytes are not text: the body must survive as is
    await queue.send("refine", b"refine-normal", priority=job_pb2.PRIORITY_HIGH)
    await queue.send("tti", b"tti-low", priority=job_pb2.PRIORITY_LOW)
    await queue.send("tti", binary)
    await queue.send("tti", b"tti-high", priority=job_pb2.PRIORITY_HIGH)

    messages = await receive(queue)

    assert [m.body for m in messages[:1]] == [b"tti-high"]
    assert {m.body for m in messages[1:3]} == {b"tti-low", binary}
    assert [m.body for m in messages[3:]] == [b"refine-normal"]
    assert [m.queue for m in messages] == ["tti", "tti", "tti", "refine"]
    assert all(m.receive_count == 1 and abs(m.enqueued_at - time.time()) < 60 for m in messages)
    assert len({m.message_id for m in messages}) == 4


async def test_receive_respects_max_messages_and_waits_for_a_late_message(queue: SqsStepQueue) -> None:
    for i in range(3):
        await queue.send("refine", f"m{i}".encode())
    first = await queue.receive(STEPS, max_messages=2, visibility_timeout_s=30, wait_s=0)
    assert len(first) == 2

    async def send_later() -> None:
        await asyncio.sleep(0.5)
        await queue.send("tti", b"late")

    await receive(queue)  # takes the third refine message
    started = time.monotonic()
    sender = asyncio.create_task(send_later())
    late = await receive(queue, wait_s=20)
    await sender
    assert [m.body for m in late] == [b"late"]
    # Returned when the message came (about 1 s: one 1-second wait slice per lane), not at the
    # end of the 20 s wait; the bound leaves a busy machine room.
    assert time.monotonic() - started < 10.0


async def test_empty_receive_returns_after_wait(queue: SqsStepQueue) -> None:
    started = time.monotonic()
    assert await receive(queue, wait_s=1.0) == []
    assert 0.9 <= time.monotonic() - started < 10.0  # waited, and returned (moto answers in real time)


async def test_lease_extension_and_release(queue: SqsStepQueue) -> None:
    await queue.send("tti", b"work")
    [message] = await receive(queue, visibility_s=2)  # the heartbeat must come within the lease
    await queue.change_visibility(message, 30)  # heartbeat: the lease now outlives the first one
    await asyncio.sleep(2.5)
    assert await receive(queue) == []

    await queue.change_visibility(message, 0)  # release
    [again] = await receive(queue)
    assert again.body == b"work" and again.receive_count == 2 and again.receipt != message.receipt
    await queue.delete(again)
    assert (await queue.depth("tti")).visible == 0


async def test_stale_and_foreign_receipts(queue: SqsStepQueue) -> None:
    await queue.send("tti", b"once")
    [message] = await receive(queue)
    await queue.delete(message)
    with pytest.raises(StaleReceipt):
        await queue.change_visibility(message, 10)  # deleted: no longer in flight
    forged = QueueMessage("tti", message.message_id, "normal:not-a-receipt", b"", 1, 0.0)
    with pytest.raises(StaleReceipt):
        await queue.delete(forged)
    with pytest.raises(StaleReceipt, match="not issued by SqsStepQueue"):
        await queue.delete(QueueMessage("tti", "1", "42", b"", 1, 0.0))


async def test_dead_letter_moves_the_body_to_the_dlq(queue: SqsStepQueue, aws: AwsSettings) -> None:
    await queue.send("tti", b"\x00poison\xff", priority=job_pb2.PRIORITY_HIGH)
    [message] = await receive(queue)
    await queue.dead_letter(message)

    depth = await queue.depth("tti")
    assert (depth.visible, depth.in_flight, depth.dead) == (0, 0, 1)
    sqs = boto(aws, "sqs")
    url = sqs.get_queue_url(QueueName=f"{aws.queue_prefix}tti-dlq")["QueueUrl"]
    [parked] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert base64.b64decode(parked["Body"]) == b"\x00poison\xff"


async def test_sqs_redrives_to_the_dlq_after_max_receives(aws: AwsSettings) -> None:
    retry = RetryPolicy(max_attempts=1)  # max_receives = 1 + 2
    assert adapters.max_receives(Settings(retry=retry)) == 3
    queue = await open_queue(aws, retry)
    try:
        await queue.send("refine", b"crashes its worker")
        for attempt in (1, 2, 3):
            [message] = await receive(queue)
            assert message.receive_count == attempt
            await queue.change_visibility(message, 0)
        assert await receive(queue) == []  # moto moves it on this receive
        assert (await queue.depth("refine")).dead == 1
    finally:
        await queue.close()


async def test_depth_counts_visible_in_flight_delayed_and_dead(queue: SqsStepQueue) -> None:
    await queue.send("tti", b"a")
    await queue.send("tti", b"b", priority=job_pb2.PRIORITY_HIGH)
    await queue.send("tti", b"c", delay_s=5000)  # clamped to SQS's 900 s
    await queue.send("tti", b"d")
    [taken] = await queue.receive(["tti"], max_messages=1, visibility_timeout_s=30, wait_s=0)
    assert taken.body == b"b"
    depth = await queue.depth("tti")
    assert (depth.visible, depth.in_flight, depth.delayed, depth.dead) == (2, 1, 1, 0)


async def test_foreign_body_is_parked_not_returned(queue: SqsStepQueue, aws: AwsSettings) -> None:
    sqs = boto(aws, "sqs")
    url = sqs.get_queue_url(QueueName=f"{aws.queue_prefix}tti")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{not base64}")
    assert await receive(queue) == []
    assert (await queue.depth("tti")).dead == 1


async def test_bad_input_and_missing_queues(queue: SqsStepQueue) -> None:
    with pytest.raises(ValueError, match="not a valid SQS name"):
        await queue.send("tti/../x", b"")
    with pytest.raises(ValueError, match="not a valid SQS name"):
        await queue.send("x" * 80, b"")
    with pytest.raises(ValueError, match="max_messages"):
        await queue.receive(STEPS, max_messages=0, visibility_timeout_s=1, wait_s=0)
    with pytest.raises(QueueError, match="does not exist"):
        await queue.send("export", b"no queue was created for export")
    with pytest.raises(QueueError, match="SQS takes"):
        await queue.send("tti", bytes(200_000))


# --- S3 ----------------------------------------------------------------------------------


@pytest.fixture
def bucket(aws: AwsSettings) -> str:
    boto(aws, "s3").create_bucket(Bucket=aws.bucket)
    return aws.bucket


@pytest.fixture
async def store(aws: AwsSettings, bucket: str) -> AsyncIterator[S3BlobStore]:
    s = S3BlobStore(aws, bucket, "artifacts")
    yield s
    await s.close()


async def test_s3_put_get_exists_copy(store: S3BlobStore, aws: AwsSettings, bucket: str) -> None:
    await store.put("t/acme/a.png", b"\x89PNG...", "image/png")
    assert await store.get("t/acme/a.png") == b"\x89PNG..."
    assert await store.exists("t/acme/a.png")
    assert not await store.exists("t/acme/b.png")
    head = boto(aws, "s3").head_object(Bucket=bucket, Key="artifacts/t/acme/a.png")
    assert head["ContentType"] == "image/png"

    await store.copy("t/acme/a.png", "t/acme/library/v1/a.png")
    assert await store.get("t/acme/library/v1/a.png") == b"\x89PNG..."

    blob = await put_content(store, "acme", b"glb bytes", "model/gltf-binary")
    assert blob.key.endswith(".glb") and await store.get(blob.key) == b"glb bytes"

    await store.delete("t/acme/a.png")
    await store.delete("t/acme/a.png")  # idempotent
    assert not await store.exists("t/acme/a.png") and await store.exists("t/acme/library/v1/a.png")


async def test_s3_missing_keys_and_bad_keys(store: S3BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await store.get("t/acme/missing.png")
    with pytest.raises(BlobNotFound):
        await store.copy("t/acme/missing.png", "t/acme/x.png")
    for bad in ("", "/abs", "t/../x", "t//x", "k" * 1100):
        with pytest.raises(BlobStoreError):
            await store.put(bad, b"", "text/plain")


async def test_s3_missing_bucket_is_a_store_error(aws: AwsSettings) -> None:
    store = S3BlobStore(aws, f"no-such-bucket-{uuid.uuid4().hex[:8]}")
    try:
        with pytest.raises(BlobStoreError, match="NoSuchBucket"):
            await store.put("t/a/x.txt", b"x", "text/plain")
    finally:
        await store.close()


async def test_presigned_url_downloads(store: S3BlobStore, aws: AwsSettings, bucket: str) -> None:
    await store.put("t/acme/mesh one.glb", b"glTF-binary", "model/gltf-binary")
    signer = open_aws_signer(Settings(profile="aws", aws=aws, blob_url=f"s3://{bucket}/artifacts"))
    assert isinstance(signer, S3PresignedUrlSigner)

    url = signer.sign("t/acme/mesh one.glb", 300)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    assert response.status_code == 200 and response.content == b"glTF-binary"
    with pytest.raises(ValueError, match="ttl_s"):
        signer.sign("t/acme/x.glb", 8 * 24 * 3600)


def _rsa_key_file(tmp_path: Path) -> tuple[Path, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "cloudfront.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path, key.public_key()


def test_cloudfront_signed_url_verifies_with_the_public_key(tmp_path: Path) -> None:
    path, public_key = _rsa_key_file(tmp_path)
    aws = AwsSettings(
        cloudfront_domain="d111111abcdef8.cloudfront.net",
        cloudfront_key_id="K2JCJMDEHXQW5F",
        cloudfront_private_key_path=path,
    )
    signer = open_aws_signer(Settings(profile="aws", aws=aws, blob_url="s3://bucket/artifacts"))
    assert isinstance(signer, CloudFrontUrlSigner)

    before = int(time.time())
    url = signer.sign("t/acme/mesh one.glb", 600)
    parts = urlsplit(url)
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}"
    assert resource == "https://d111111abcdef8.cloudfront.net/artifacts/t/acme/mesh%20one.glb"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    expires = int(query["Expires"])
    assert before + 600 <= expires <= int(time.time()) + 601

    # The canned policy CloudFront rebuilds from the URL, and its URL-safe base64 alphabet.
    policy = (
        f'{{"Statement":[{{"Resource":"{resource}",'
        f'"Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}'
    )
    signature = base64.b64decode(query["Signature"].translate(str.maketrans("-_~", "+=/")))
    public_key.verify(signature, policy.encode(), padding.PKCS1v15(), hashes.SHA1())


def test_cloudfront_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cloudfront_key_id"):
        open_aws_signer(Settings(profile="aws", aws=AwsSettings(cloudfront_domain="x.cloudfront.net")))
    not_a_key = tmp_path / "bad.pem"
    not_a_key.write_text("nope")
    aws = AwsSettings(
        cloudfront_domain="x.cloudfront.net", cloudfront_key_id="K1", cloudfront_private_key_path=not_a_key
    )
    with pytest.raises(ValueError, match="cannot load a PEM key"):
        open_aws_signer(Settings(profile="aws", aws=aws))


# --- EventBridge -------------------------------------------------------------------------


def job_event(sequence: int) -> events_pb2.JobEvent:
    event = events_pb2.JobEvent(job_id="job-1", sequence=sequence, step_name="tti", tenant_id="acme")
    event.at.GetCurrentTime()
    if sequence % 2:
        event.progress.fraction = 0.5
    else:
        event.started.attempt = 1
    return event


async def test_eventbridge_delivers_to_a_rule_target(aws: AwsSettings) -> None:
    events, sqs = boto(aws, "events"), boto(aws, "sqs")
    events.create_event_bus(Name=aws.event_bus)
    url = sqs.create_queue(QueueName=f"{aws.queue_prefix}bus-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="all-job-events",
        EventBusName=aws.event_bus,
        EventPattern=json.dumps({"source": [eventbridge.SOURCE]}),
    )
    events.put_targets(Rule="all-job-events", EventBusName=aws.event_bus, Targets=[{"Id": "tap", "Arn": arn}])

    publisher = EventBridgePublisher(aws)
    try:
        await publisher.publish([job_event(n) for n in range(1, 13)])  # two PutEvents batches
    finally:
        await publisher.close()

    delivered: list[dict[str, Any]] = []
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        delivered += [json.loads(m["Body"]) for m in batch]
        if len(delivered) >= 12 or not batch:
            break
    assert sorted(int(e["detail"]["sequence"]) for e in delivered) == list(range(1, 13))
    for e in delivered:
        assert e["source"] == "assetcore.orchestrator"
        assert e["detail-type"] == ("progress" if int(e["detail"]["sequence"]) % 2 else "started")
        assert e["detail"]["jobId"] == "job-1" and e["detail"]["tenantId"] == "acme"


class _FlakyEvents:
    """PutEvents that rejects the first entry of the first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[list[dict[str, Any]]] = []

    async def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        fail = len(self.calls) <= self.failures
        results = [{"EventId": str(i)} for i in range(len(Entries))]
        if fail:
            results[0] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
        return {"FailedEntryCount": int(fail), "Entries": results}


class _FixedClient:
    def __init__(self, client: _FlakyEvents) -> None:
        self.client = client

    async def get(self) -> _FlakyEvents:
        return self.client

    async def close(self) -> None:
        return None


def _publisher_with(client: _FlakyEvents, monkeypatch: pytest.MonkeyPatch) -> EventBridgePublisher:
    monkeypatch.setattr(eventbridge, "BASE_BACKOFF_S", 0.0)
    publisher = EventBridgePublisher(AwsSettings())
    monkeypatch.setattr(publisher, "_client", _FixedClient(client))
    return publisher


async def test_eventbridge_retries_failed_entries_only(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _FlakyEvents(failures=2)
    await _publisher_with(client, monkeypatch).publish([job_event(n) for n in range(1, 4)])
    assert [len(call) for call in client.calls] == [3, 1, 1]
    assert json.loads(client.calls[2][0]["Detail"])["sequence"] == "1"


async def test_eventbridge_gives_up_after_max_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _FlakyEvents(failures=100)
    with pytest.raises(EventPublishError, match="ThrottlingException"):
        await _publisher_with(client, monkeypatch).publish([job_event(1)])
    assert len(client.calls) == eventbridge.MAX_ATTEMPTS


async def test_eventbridge_batches_by_count_and_size(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _FlakyEvents(failures=0)
    big = [job_event(n) for n in range(1, 4)]
    for event in big:
        event.progress.message = "x" * 150_000
    await _publisher_with(client, monkeypatch).publish([job_event(n) for n in range(4, 26)] + big)
    assert [len(call) for call in client.calls] == [10, 10, 3, 1, 1]
    no_kind = events_pb2.JobEvent(job_id="job-1", sequence=9)
    with pytest.raises(ValueError, match="no kind"):
        await _publisher_with(client, monkeypatch).publish([no_kind])


# --- wiring ------------------------------------------------------------------------------


async def test_aws_profile_builds_the_aws_adapters(aws: AwsSettings) -> None:
    settings = Settings(profile="aws", aws=aws)
    await provision(settings)
    queue, store, publisher = (
        adapters.open_queue(settings),
        adapters.open_blob_store(settings),
        adapters.open_publisher(settings),
    )
    assert isinstance(queue, SqsStepQueue)
    assert isinstance(store, S3BlobStore) and store.bucket == aws.bucket
    assert isinstance(publisher, EventBridgePublisher)
    try:
        await queue.send("export", b"task")  # every step's queues exist
        [message] = await queue.receive(["export"], max_messages=1, visibility_timeout_s=5, wait_s=0)
        await queue.delete(message)
        await store.put("t/a/x.txt", b"x", "text/plain")
        await publisher.publish([job_event(1)])
    finally:
        await asyncio.gather(queue.close(), store.close(), publisher.close())
