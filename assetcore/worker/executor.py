"""Executes one StepTask with a hosted backend: cache, inputs, the run, outputs.

Shared by the queue consumer and StepService.Run. The backend runs in a worker thread;
its progress calls cross back to the event loop through `ProgressBridge`, which also
carries cancellation (the job was cancelled, the worker drains, the step timed out) into
the backend as StepCancelled at its next progress call.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from google.protobuf.json_format import MessageToDict

from assetcore.blobs.base import BlobNotFound, BlobStore, put_content
from assetcore.proto.v1 import job_pb2, step_pb2
from assetcore.steps.runner import prepare_request
from assetcore.telemetry import tracing
from assetcore.worker import cache
from assetcore.worker.backend import ErrorCode, InputFile, StepCancelled, StepError, StepOutput, StepRequest
from assetcore.worker.registry import HostedStep

log = logging.getLogger(__name__)

# (fraction, message, preview artifact or None) -> True when the step should stop.
ProgressSink = Callable[[float, str, job_pb2.Artifact | None], Awaitable[bool]]


class ProgressBridge:
    """The backend's progress callback: throttled, forwarded to the loop, raises StepCancelled."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sink: ProgressSink,
        store_preview: Callable[[bytes], Awaitable[job_pb2.Artifact]],
        cancel: threading.Event,
        interval_s: float,
    ) -> None:
        self._loop = loop
        self._sink = sink
        self._store_preview = store_preview
        self._cancel = cancel
        self._interval_s = interval_s
        self._last = time.monotonic()  # the first report waits an interval: short steps report none

    async def _forward(self, fraction: float, message: str, preview_png: bytes | None) -> bool:
        preview = await self._store_preview(preview_png) if preview_png else None
        return await self._sink(fraction, message, preview)

    def __call__(self, fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
        if self._cancel.is_set():
            raise StepCancelled()
        now = time.monotonic()
        if preview_png is None and now - self._last < self._interval_s:
            return
        self._last = now
        future = asyncio.run_coroutine_threadsafe(self._forward(fraction, message, preview_png), self._loop)
        try:
            stop = future.result(timeout=10.0)
        except Exception as exc:  # progress is advisory: never fail a step for it
            log.warning("progress report failed: %s", exc)
            stop = False
        if stop:
            self._cancel.set()
            raise StepCancelled()


class StepExecutor:
    def __init__(self, blobs: BlobStore, threads: int, progress_interval_s: float) -> None:
        self._blobs = blobs
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="step")
        self._progress_interval_s = progress_interval_s

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def execute(
        self,
        task: step_pb2.StepTask,
        hosted: HostedStep,
        sink: ProgressSink,
        cancel: threading.Event,
        timeout_s: float,
    ) -> step_pb2.StepResult:
        """Run the task (or answer from the cache). Raises StepError or StepCancelled."""
        info = hosted.info()
        wanted = set(hosted.wanted_inputs([a.name for a in task.inputs]))
        inputs = [a for a in task.inputs if a.name in wanted]
        key = cache.cache_key(task, info, inputs)
        cached = await cache.load(self._blobs, task.tenant_id, task.step_name, key)
        if cached is not None:
            cached.cache_hit = True
            cached.duration_seconds = 0.0
            return cached
        request = prepare_request(
            hosted.definition,
            hosted.backend_name,
            job=task.job_input,
            params=MessageToDict(task.params),
            seed=task.seed,
            inputs={a.name: await self._fetch(a) for a in inputs},
        )
        loop = asyncio.get_running_loop()

        async def store_preview(png: bytes) -> job_pb2.Artifact:
            return await self._store(task.tenant_id, "preview", "image/png", png)

        bridge = ProgressBridge(loop, sink, store_preview, cancel, self._progress_interval_s)
        started = time.monotonic()
        with tracing.child_span("run backend", {tracing.BACKEND: info.name}):
            # In the span's context: the backend's progress reports (ReportProgress) join the trace.
            backend = tracing.in_context(self._run_backend)
            run = loop.run_in_executor(self._pool, backend, hosted, request, bridge)
            try:
                async with asyncio.timeout(timeout_s):
                    output = await run
            except TimeoutError:
                cancel.set()  # the backend stops at its next progress call
                message = f"step exceeded {timeout_s:.0f}s"
                raise StepError(ErrorCode.TIMEOUT, message, retryable=True) from None
        duration = time.monotonic() - started
        with tracing.child_span("store outputs"):
            result = await self._save(task, info.name, info.version, output, duration)
            await cache.store(self._blobs, task.tenant_id, task.step_name, key, result)
        return result

    @staticmethod
    def _run_backend(hosted: HostedStep, request: StepRequest, bridge: ProgressBridge) -> StepOutput:
        try:
            return hosted.run(request, bridge)
        except (StepError, StepCancelled):
            raise
        except Exception as exc:
            log.exception("backend %s of step %s raised", hosted.backend_name, hosted.name)
            raise StepError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}", retryable=True) from exc

    async def _fetch(self, artifact: job_pb2.Artifact) -> InputFile:
        try:
            data = await self._blobs.get(artifact.blob_key)
        except BlobNotFound:
            raise StepError(
                ErrorCode.INVALID_INPUT, f"input {artifact.name} is missing from the blob store"
            ) from None
        if artifact.sha256 and hashlib.sha256(data).hexdigest() != artifact.sha256:
            raise StepError(ErrorCode.INVALID_INPUT, f"input {artifact.name} does not match its content hash")
        return InputFile(artifact.name, artifact.media_type, data, artifact.sha256)

    async def _store(self, tenant_id: str, name: str, media_type: str, data: bytes) -> job_pb2.Artifact:
        blob = await put_content(self._blobs, tenant_id, data, media_type)
        return job_pb2.Artifact(
            name=name,
            media_type=media_type,
            sha256=blob.sha256,
            size_bytes=blob.size_bytes,
            blob_key=blob.key,
        )

    async def _save(
        self, task: step_pb2.StepTask, backend: str, version: str, output: StepOutput, duration: float
    ) -> step_pb2.StepResult:
        result = step_pb2.StepResult(
            backend=backend,
            backend_version=version,
            duration_seconds=duration,
            notes=output.notes,
            metrics=output.metrics,
        )
        for file in output.files:
            result.outputs.append(await self._store(task.tenant_id, file.name, file.media_type, file.data))
        if output.preview_png:
            result.preview.CopyFrom(
                await self._store(task.tenant_id, "preview", "image/png", output.preview_png)
            )
        return result
