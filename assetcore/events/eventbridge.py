"""EventPublisher on Amazon EventBridge (aws profile).

Each JobEvent becomes one entry: Source "assetcore.orchestrator", DetailType the event's
kind (`started`, `step_completed`, ...), Detail the event as protobuf JSON, on the
configured bus. PutEvents takes at most 10 entries and 256 KiB per call, so events go in
batches within both limits. Entries EventBridge reports as failed (throttling, internal
errors) are retried with exponential backoff; after MAX_ATTEMPTS the publish raises, and
the outbox relay retries the whole batch later (consumers dedupe on job_id + sequence).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from google.protobuf.json_format import MessageToJson

from assetcore.aws_client import LazyClient, describe_error
from assetcore.config import AwsSettings
from assetcore.proto.v1 import events_pb2

SOURCE = "assetcore.orchestrator"
MAX_ENTRIES = 10  # PutEvents entries per call
MAX_REQUEST_BYTES = 256 * 1024  # PutEvents payload per call
MAX_ATTEMPTS = 4
BASE_BACKOFF_S = 0.2


class EventPublishError(Exception):
    """Events could not be delivered to the bus."""


def to_entry(event: events_pb2.JobEvent, bus: str) -> dict[str, Any]:
    kind = event.WhichOneof("kind")
    if kind is None:
        raise ValueError(f"job event {event.job_id}#{event.sequence} has no kind")
    entry: dict[str, Any] = {
        "Source": SOURCE,
        "DetailType": kind,
        "Detail": MessageToJson(event, indent=None),
        "EventBusName": bus,
    }
    if event.HasField("at"):
        entry["Time"] = event.at.ToDatetime()
    return entry


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it against the 256 KiB limit."""
    text = entry["Source"] + entry["DetailType"] + entry["Detail"]
    return len(text.encode()) + (14 if "Time" in entry else 0)


def batches(entries: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        n = entry_size(entry)
        if n > MAX_REQUEST_BYTES:
            raise EventPublishError(f"event {entry['DetailType']} is {n} bytes; EventBridge takes 256 KiB")
        if len(batch) == MAX_ENTRIES or size + n > MAX_REQUEST_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += n
    if batch:
        yield batch


class EventBridgePublisher:
    def __init__(self, settings: AwsSettings) -> None:
        self._bus = settings.event_bus
        self._client = LazyClient("events", settings)

    async def publish(self, events: Sequence[events_pb2.JobEvent]) -> None:
        for batch in batches([to_entry(event, self._bus) for event in events]):
            await self._put(batch)

    async def _put(self, entries: list[dict[str, Any]]) -> None:
        client = await self._client.get()
        pending = entries
        failed: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                await asyncio.sleep(BASE_BACKOFF_S * 2 ** (attempt - 1))
            try:
                response = await client.put_events(Entries=pending)
            except (ClientError, BotoCoreError) as exc:
                raise EventPublishError(
                    f"PutEvents to bus {self._bus!r} failed: {describe_error(exc)}"
                ) from exc
            results = response.get("Entries", [])
            failed = [(entry, r) for entry, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            if not response.get("FailedEntryCount") or not failed:
                return
            pending = [entry for entry, _ in failed]
        reasons = sorted({f"{r['ErrorCode']}: {r.get('ErrorMessage', '')}" for _, r in failed})
        raise EventPublishError(
            f"{len(pending)} event(s) not accepted by bus {self._bus!r} after {MAX_ATTEMPTS} attempts: "
            + "; ".join(reasons)
        )

    async def close(self) -> None:
        await self._client.close()
