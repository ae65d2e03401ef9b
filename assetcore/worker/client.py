"""The worker's view of the orchestrator: the step calls, with deadlines and retries.

Every call has a deadline. Calls that change state (StartStep, CompleteStep, FailStep) are
retried with backoff while the orchestrator is unreachable — for up to `retry_s`, with the
queue lease kept alive meanwhile — because losing them would redo work; they are
idempotent on the orchestrator side, so a retry after a lost response is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from assetcore.proto.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from assetcore.rpc.channel import bearer, open_channel

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
CALL_TIMEOUT_S = 10.0


class OrchestratorUnavailable(Exception):
    """The orchestrator could not be reached within the retry budget."""


class OrchestratorClient:
    def __init__(self, address: str, token: str, retry_s: float) -> None:
        self._channel = open_channel(address)
        self._stub = orchestrator_pb2_grpc.OrchestratorServiceStub(self._channel)
        self._metadata = bearer(token)
        self._retry_s = retry_s

    async def close(self) -> None:
        await self._channel.close()

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self._retry_s
        delay = 0.05
        while True:
            try:
                return await call()
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in RETRYABLE:
                    raise
                if time.monotonic() + delay > deadline:
                    raise OrchestratorUnavailable(exc.details() or exc.code().name) from exc
                log.warning("orchestrator unreachable (%s); retrying in %.2fs", exc.code().name, delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, 5.0)

    async def start_step(
        self, request: orchestrator_pb2.StartStepRequest
    ) -> orchestrator_pb2.StartStepResponse:
        return await self._retrying(
            lambda: self._stub.StartStep(request, metadata=self._metadata, timeout=CALL_TIMEOUT_S)
        )

    async def complete_step(
        self, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        return await self._retrying(
            lambda: self._stub.CompleteStep(request, metadata=self._metadata, timeout=CALL_TIMEOUT_S)
        )

    async def fail_step(self, request: orchestrator_pb2.FailStepRequest) -> orchestrator_pb2.FailStepResponse:
        return await self._retrying(
            lambda: self._stub.FailStep(request, metadata=self._metadata, timeout=CALL_TIMEOUT_S)
        )

    async def report_progress(
        self, request: orchestrator_pb2.ReportProgressRequest
    ) -> orchestrator_pb2.ReportProgressResponse:
        """One try with a short deadline: progress is advisory."""
        response: orchestrator_pb2.ReportProgressResponse = await self._stub.ReportProgress(
            request, metadata=self._metadata, timeout=2.0
        )
        return response

    async def abandon_step(self, request: orchestrator_pb2.AbandonStepRequest) -> None:
        await self._stub.AbandonStep(request, metadata=self._metadata, timeout=2.0)
