"""Adapters by profile: the only place that knows local from aws.

local: SQL-table queues, a blob directory, HMAC file URLs served by the gateway, no bus.
aws: SQS, S3, CloudFront (or S3 presigned) URLs, EventBridge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from assetcore.blobs.base import BlobStore
from assetcore.blobs.fs import FileBlobStore
from assetcore.blobs.signing import UrlSigner
from assetcore.config import Settings
from assetcore.events.base import EventPublisher
from assetcore.queues.base import StepQueue
from assetcore.queues.sql import SqlStepQueue


class Signer(Protocol):
    def sign(self, key: str, ttl_s: int, base_url: str = "") -> str:
        """A download URL for the blob; `base_url` is where the request came in (local files)."""


def max_receives(settings: Settings) -> int:
    """Deliveries before the queue itself dead-letters: a margin above the orchestrator's own limit."""
    return (
        max([settings.retry.max_attempts, *(p.max_attempts for p in settings.retry_overrides.values())]) + 2
    )


def open_blob_store(settings: Settings) -> BlobStore:
    url = settings.resolved_blob_url()
    if url.startswith("file://"):
        return FileBlobStore(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        from assetcore.blobs.s3 import S3BlobStore

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3BlobStore(settings.aws, bucket, prefix)
    raise ValueError(f"unsupported blob URL {url!r} (file:// or s3://)")


def open_queue(settings: Settings) -> StepQueue:
    url = settings.resolved_queue_url()
    if url.startswith("sqs://"):
        from assetcore.queues.sqs import SqsStepQueue

        return SqsStepQueue(settings.aws)
    return SqlStepQueue(
        url,
        max_receives=max_receives(settings),
        poll_interval_s=settings.worker.poll_interval_s,
        max_poll_interval_s=settings.worker.max_poll_interval_s,
    )


def open_signer(settings: Settings) -> Signer:
    if settings.profile == "aws":
        from assetcore.blobs.s3 import open_aws_signer

        return open_aws_signer(settings)
    return UrlSigner(settings.secret("signing_secret"), settings.public_url)


def open_publisher(settings: Settings) -> EventPublisher | None:
    if settings.profile == "aws":
        from assetcore.events.eventbridge import EventBridgePublisher

        return EventBridgePublisher(settings.aws)
    return None
