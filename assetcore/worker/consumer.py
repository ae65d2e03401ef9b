"""The queue consumer: receives step tasks, runs them, reports, and only then deletes.

Per message: StartStep (the orchestrator may say skip or dead-letter), a lease heartbeat
for as long as the step runs, the executor, then CompleteStep or FailStep, then delete (or
whatever FailStep decided: retry after a delay, dead-letter, discard). A crash at any point
loses only the lease: the message comes back after the visibility timeout.

SIGTERM (deploy, Spot interruption) → `drain()`: stop receiving, let in-flight steps finish
within the grace period, then cancel the rest and release their messages (visibility 0)
without counting an attempt.

Telemetry: each attempt runs in a span continuing the job's trace (the task's trace_context),
so the orchestrator calls join it; an executed step also writes its duration as a CloudWatch
EMF line (assetcore/telemetry/emf.py) where the deployable turned EMF on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from assetcore.blobs.base import BlobStore
from assetcore.config import WorkerSettings
from assetcore.proto.v1 import job_pb2, orchestrator_pb2, step_pb2
from assetcore.queues.base import QueueError, QueueMessage, StaleReceipt, StepQueue
from assetcore.telemetry import emf, tracing
from assetcore.worker import metrics
from assetcore.worker.backend import StepCancelled, StepError
from assetcore.worker.client import OrchestratorClient, OrchestratorUnavailable
from assetcore.worker.executor import StepExecutor
from assetcore.worker.registry import HostedStep

log = logging.getLogger(__name__)
RECEIVE_WAIT_S = 1.0
STEP_TIMEOUT_S = 1800.0


@dataclass
class _Lease:
    message: QueueMessage
    cancel: threading.Event
    renewed_at: float  # monotonic


def worker_id(names: Sequence[str]) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{'+'.join(names)}"


class QueueConsumer:
    def __init__(
        self,
        steps: Sequence[HostedStep],
        queue: StepQueue,
        blobs: BlobStore,
        client: OrchestratorClient,
        settings: WorkerSettings,
    ) -> None:
        self._steps = {s.name: s for s in steps}
        # Interactive steps first: receive() drains earlier queues before later ones.
        self.queues = [s.name for s in sorted(steps, key=lambda s: not s.definition.interactive)]
        self._queue = queue
        self._client = client
        self._settings = settings
        self._executor = StepExecutor(blobs, settings.concurrency, settings.progress_interval_s)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._leases: dict[asyncio.Task[None], _Lease] = {}
        self._stopping = asyncio.Event()
        self._receiving_stopped = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._draining = False
        self.worker_id = worker_id(list(self._steps))

    async def run(self) -> None:
        """Receive and dispatch until drain() is called (which also ends the lease keeper)."""
        failures = 0
        self._keeper = asyncio.create_task(self._keep_leases(), name="lease-keeper")
        try:
            while not self._stopping.is_set():
                slots = await self._take_slots()
                try:
                    messages = await self._queue.receive(
                        self.queues,
                        max_messages=slots,
                        visibility_timeout_s=self._settings.visibility_timeout_s,
                        wait_s=RECEIVE_WAIT_S,
                    )
                    failures = 0
                except QueueError as exc:
                    self._give_back(slots)
                    failures += 1
                    metrics.QUEUE_ERRORS.labels("receive").inc()
                    log.warning("receive failed: %s", exc)
                    await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                    continue
                self._give_back(slots - len(messages))
                if self._stopping.is_set():  # received while draining began: hand them straight back
                    self._give_back(len(messages))
                    for message in messages:
                        await self._release(message)
                    break
                for message in messages:
                    task = asyncio.create_task(self._handle(message), name=f"step-{message.message_id}")
                    self._tasks.add(task)
                    task.add_done_callback(self._finished)
        finally:
            self._receiving_stopped.set()

    async def _take_slots(self) -> int:
        """Wait for one free slot, then take every other free one: receive as many messages."""
        await self._slots.acquire()
        taken = 1
        while not self._slots.locked():
            await self._slots.acquire()
            taken += 1
        return taken

    def _give_back(self, slots: int) -> None:
        for _ in range(slots):
            self._slots.release()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._leases.pop(task, None)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("step handler crashed", exc_info=task.exception())

    async def drain(self, grace_s: float) -> None:
        """Stop receiving; finish in-flight steps within grace_s, then cancel and release the rest."""
        self._stopping.set()
        deadline = asyncio.get_running_loop().time() + grace_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._receiving_stopped.wait(), RECEIVE_WAIT_S + 1)
        if self._tasks:
            await asyncio.wait(
                set(self._tasks), timeout=max(0.0, deadline - asyncio.get_running_loop().time())
            )
        self._draining = True
        for lease in self._leases.values():
            lease.cancel.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        for task in set(self._tasks):
            task.cancel()
        if self._keeper is not None:
            self._keeper.cancel()
        self._executor.close()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def _handle(self, message: QueueMessage) -> None:
        try:
            task = step_pb2.StepTask.FromString(message.body)
        except DecodeError:
            log.error("undecodable message %s on %s: dead-lettered", message.message_id, message.queue)
            await self._queue.dead_letter(message)
            return
        hosted = self._steps.get(task.step_name)
        if hosted is None or task.step_name != message.queue:
            log.error("message for step %r on queue %s: dead-lettered", task.step_name, message.queue)
            await self._queue.dead_letter(message)
            return
        cancel = threading.Event()
        current = asyncio.current_task()
        assert current is not None
        self._leases[current] = _Lease(message, cancel, time.monotonic())
        try:
            await self._process(message, task, hosted, cancel)
        except OrchestratorUnavailable as exc:
            log.warning("orchestrator unavailable (%s): releasing %s", exc, task.step_id)
            await self._release(message)
        except StaleReceipt:
            log.warning("lease on %s lost to a redelivery; dropping this copy", task.step_id)
        except QueueError as exc:
            metrics.QUEUE_ERRORS.labels("settle").inc()
            log.warning("queue error settling %s: %s (the message will be redelivered)", task.step_id, exc)

    async def _process(
        self, message: QueueMessage, task: step_pb2.StepTask, hosted: HostedStep, cancel: threading.Event
    ) -> None:
        """One attempt, in its span: the orchestrator's server spans of the calls join the job's trace."""
        info = hosted.info()
        with tracing.step_span(
            task,
            backend=info.name,
            backend_version=info.version,
            queue=message.queue,
            message_id=message.message_id,
            delivery_count=message.receive_count,
        ):
            await self._attempt(message, task, hosted, cancel)

    async def _attempt(
        self, message: QueueMessage, task: step_pb2.StepTask, hosted: HostedStep, cancel: threading.Event
    ) -> None:
        start = await self._client.start_step(
            orchestrator_pb2.StartStepRequest(
                step_id=task.step_id,
                generation=task.generation,
                worker_id=self.worker_id,
                delivery_count=message.receive_count,
            )
        )
        if start.directive == orchestrator_pb2.START_DIRECTIVE_SKIP:
            log.info("skipping %s %s: %s", task.step_name, task.step_id, start.reason)
            tracing.set_attributes({tracing.OUTCOME: "skipped"})
            await self._queue.delete(message)
            return
        if start.directive == orchestrator_pb2.START_DIRECTIVE_DEAD_LETTER:
            log.warning("dead-lettering %s %s: %s", task.step_name, task.step_id, start.reason)
            tracing.set_attributes({tracing.OUTCOME: "dead_lettered"})
            await self._queue.dead_letter(message)
            return
        attempt_id = start.attempt_id
        tracing.set_attributes({tracing.ATTEMPT: start.attempt, tracing.ATTEMPT_ID: attempt_id})
        info = hosted.info()
        metrics.IN_FLIGHT.labels(task.step_name).inc()
        try:
            result = await self._executor.execute(
                task, hosted, self._progress_sink(attempt_id), cancel, STEP_TIMEOUT_S
            )
        except StepCancelled:
            tracing.set_attributes({tracing.OUTCOME: "cancelled"})
            await self._cancelled(message, attempt_id)
            metrics.STEPS.labels(task.step_name, info.name, "cancelled").inc()
            return
        except StepError as error:
            metrics.STEPS.labels(task.step_name, info.name, "failed").inc()
            log.warning("step %s %s failed: %s", task.step_name, task.step_id, error)
            tracing.set_attributes({tracing.OUTCOME: "failed"})
            tracing.mark_error(error.code, error.message)
            await self._failed(message, attempt_id, error)
            return
        finally:
            metrics.IN_FLIGHT.labels(task.step_name).dec()
        metrics.STEPS.labels(task.step_name, info.name, "succeeded").inc()
        tracing.set_attributes({tracing.OUTCOME: "succeeded", tracing.CACHE_HIT: result.cache_hit})
        if result.cache_hit:
            metrics.CACHE_HITS.labels(task.step_name).inc()
        else:
            metrics.STEP_SECONDS.labels(task.step_name, info.name).observe(result.duration_seconds)
            emf.emit(
                emf.step_duration_record(
                    task.step_name,
                    result.duration_seconds,
                    backend=result.backend or info.name,
                    backend_version=result.backend_version or info.version,
                    job_id=task.job_id,
                    step_id=task.step_id,
                    attempt=start.attempt,
                    trace_id=tracing.current_trace_id(),
                )
            )
        await self._client.complete_step(
            orchestrator_pb2.CompleteStepRequest(
                attempt_id=attempt_id,
                outputs=result.outputs,
                preview=result.preview,
                backend=result.backend,
                backend_version=result.backend_version,
                cache_hit=result.cache_hit,
                duration_seconds=result.duration_seconds,
                notes=result.notes,
                metrics=result.metrics,
                pool=hosted.pool,
            )
        )
        await self._queue.delete(message)

    def _progress_sink(self, attempt_id: str):  # type: ignore[no-untyped-def]
        async def report(fraction: float, text: str, preview: job_pb2.Artifact | None) -> bool:
            request = orchestrator_pb2.ReportProgressRequest(
                attempt_id=attempt_id, fraction=fraction, message=text
            )
            if preview is not None:
                request.preview.CopyFrom(preview)
            try:
                return (await self._client.report_progress(request)).cancel_requested
            except Exception as exc:
                log.warning("progress report for %s failed: %s", attempt_id, exc)
                return False

        return report

    async def _cancelled(self, message: QueueMessage, attempt_id: str) -> None:
        if self._draining:
            # Released on shutdown: another worker picks it up; it does not count as an attempt.
            with contextlib.suppress(Exception):
                await self._client.abandon_step(
                    orchestrator_pb2.AbandonStepRequest(attempt_id=attempt_id, reason="shutdown")
                )
            await self._release(message)
        else:
            await self._queue.delete(message)  # the job no longer wants this step

    async def _failed(self, message: QueueMessage, attempt_id: str, error: StepError) -> None:
        decision = await self._client.fail_step(
            orchestrator_pb2.FailStepRequest(
                attempt_id=attempt_id,
                error=job_pb2.Error(code=error.code, message=error.message),
                retryable=error.retryable,
            )
        )
        if decision.action == orchestrator_pb2.FAIL_ACTION_RETRY:
            await self._queue.change_visibility(message, decision.delay_seconds)
        elif decision.action == orchestrator_pb2.FAIL_ACTION_DEAD_LETTER:
            await self._queue.dead_letter(message)
        else:
            await self._queue.delete(message)

    async def _release(self, message: QueueMessage) -> None:
        with contextlib.suppress(QueueError):
            await self._queue.change_visibility(message, 0)

    async def _keep_leases(self) -> None:
        """Extend each in-flight message's lease a third of the visibility timeout after its last renewal.

        One loop for all leases (not a task per message): a lease that turns out stale (the
        message went to another worker) stops its step.
        """
        timeout = self._settings.visibility_timeout_s
        while True:
            await asyncio.sleep(timeout / 6)
            for lease in list(self._leases.values()):
                if time.monotonic() - lease.renewed_at < timeout / 3:
                    continue
                try:
                    await self._queue.change_visibility(lease.message, timeout)
                    lease.renewed_at = time.monotonic()
                except StaleReceipt:
                    log.warning("lease of message %s lost; stopping its step", lease.message.message_id)
                    lease.cancel.set()
                except QueueError as exc:
                    metrics.QUEUE_ERRORS.labels("heartbeat").inc()
                    log.warning("heartbeat failed (%s); retrying", exc)
