"""Event publishing: where the outbox relay sends job events besides the job's own log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assetcore.proto.v1 import events_pb2


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[events_pb2.JobEvent]) -> None:
        """Deliver at least once; consumers dedupe on (job_id, sequence)."""

    async def close(self) -> None: ...
