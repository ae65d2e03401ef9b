"""The worker's view of the orchestrator: the step calls, with deadlines and retries.

Calls that change state (StartStep, CompleteStep, FailStep) must survive an orchestrator that
is down for a while (a crash, a deploy): losing them would redo work. They are idempotent on
the orchestrator side (on step id + generation, or attempt id), so sending one again after a
lost response is harmless. The channel gives them that, with no retry loop here:

- **wait_for_ready with one deadline, the retry budget** (`retry_s`, the setting
  worker.orchestrator_retry_s, 120 s by default). While the orchestrator is unreachable the
  call waits for the channel to (re)connect instead of failing fast; the channel retries the
  connection every 0.25..2 s (CLIENT_OPTIONS), so the call goes out soon after the
  orchestrator is back.
- **gRPC's retry policy** (service config: UNAVAILABLE, exponential backoff 0.1 s .. 5 s,
  5 attempts, gRPC's maximum) for a call that breaks in flight: the orchestrator died after
  the request was sent and before it answered. Each retry again waits for ready, within the
  same deadline.

Neither is enough alone: wait_for_ready never resends a call that failed in flight, and the
retry policy (at most 5 attempts, backoff capped per attempt) cannot span a two-minute outage.
When the budget is spent the call raises OrchestratorUnavailable and the consumer releases the
message (it comes back, and the queue lease was kept alive meanwhile).

Progress reports and AbandonStep are advisory: one quick try, failing fast.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

import grpc

from assetcore.proto.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from assetcore.rpc.channel import MethodPolicy, RetryPolicy, bearer, open_channel, service_config

log = logging.getLogger(__name__)
T = TypeVar("T")
SERVICE = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name
DURABLE = ("StartStep", "CompleteStep", "FailStep", "RegisterWorker")  # must arrive: wait, retry in budget
ADVISORY = ("ReportProgress", "AbandonStep")  # one quick try
ADVISORY_TIMEOUT_S = 2.0
RETRY = RetryPolicy(max_attempts=5, initial_backoff_s=0.1, max_backoff_s=5.0, multiplier=2.0)


class OrchestratorUnavailable(Exception):
    """The orchestrator could not be reached within the retry budget."""


def worker_policies(retry_s: float) -> dict[str, MethodPolicy]:
    durable = MethodPolicy(timeout_s=retry_s, wait_for_ready=True, retry=RETRY)
    advisory = MethodPolicy(timeout_s=ADVISORY_TIMEOUT_S, wait_for_ready=False)
    return {**dict.fromkeys(DURABLE, durable), **dict.fromkeys(ADVISORY, advisory)}


class OrchestratorClient:
    def __init__(self, address: str, token: str, retry_s: float) -> None:
        policies = worker_policies(retry_s)
        self._channel = open_channel(address, config=service_config(SERVICE, policies))
        self._stub = orchestrator_pb2_grpc.OrchestratorServiceStub(self._channel)
        # Each call's metadata, deadline and wait-for-ready, by method.
        self._options = {
            m: {"metadata": bearer(token), **policy.call_options()} for m, policy in policies.items()
        }

    async def close(self) -> None:
        await self._channel.close()

    @staticmethod
    async def _durable(pending: Awaitable[T]) -> T:
        try:
            return await pending
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                log.warning("orchestrator unreachable within the retry budget: %s", exc.code().name)
                raise OrchestratorUnavailable(exc.details() or exc.code().name) from exc
            raise

    async def start_step(
        self, request: orchestrator_pb2.StartStepRequest
    ) -> orchestrator_pb2.StartStepResponse:
        return await self._durable(self._stub.StartStep(request, **self._options["StartStep"]))

    async def complete_step(
        self, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        return await self._durable(self._stub.CompleteStep(request, **self._options["CompleteStep"]))

    async def fail_step(self, request: orchestrator_pb2.FailStepRequest) -> orchestrator_pb2.FailStepResponse:
        return await self._durable(self._stub.FailStep(request, **self._options["FailStep"]))

    async def report_progress(
        self, request: orchestrator_pb2.ReportProgressRequest
    ) -> orchestrator_pb2.ReportProgressResponse:
        """One try with a short deadline: progress is advisory."""
        response: orchestrator_pb2.ReportProgressResponse = await self._stub.ReportProgress(
            request, **self._options["ReportProgress"]
        )
        return response

    async def abandon_step(self, request: orchestrator_pb2.AbandonStepRequest) -> None:
        await self._stub.AbandonStep(request, **self._options["AbandonStep"])

    async def register_worker(self, request: orchestrator_pb2.RegisterWorkerRequest) -> None:
        await self._durable(self._stub.RegisterWorker(request, **self._options["RegisterWorker"]))
