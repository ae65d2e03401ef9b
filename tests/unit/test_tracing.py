"""Tracing (assetcore/telemetry/tracing.py): off by default; the job's trace context from the
CreateJob span onto step tasks and SQS attributes, into the worker's span and across gRPC."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from assetcore.config import Settings, TracingSettings
from assetcore.proto.v1 import step_pb2
from assetcore.queues.sqs import trace_attributes
from assetcore.rpc.channel import open_channel
from assetcore.rpc.server import GrpcServer
from assetcore.telemetry import tracing

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, spans kept in memory (the process-global provider is untouched)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)
        provider.shutdown()


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {s.name: s for s in exporter.get_finished_spans()}


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


def task_with(traceparent: str | None) -> step_pb2.StepTask:
    task = step_pb2.StepTask(
        job_id="job_1", step_id="stp_1", step_name="tti", tenant_id="ten_1", generation=2
    )
    tracing.set_task_trace(task, traceparent)
    return task


# --- off by default ---------------------------------------------------------------------


def test_tracing_is_off_without_an_endpoint() -> None:
    assert Settings().tracing.otlp_endpoint is None
    assert tracing.configure_tracing("tti", TracingSettings()) is False
    assert not tracing.tracing_enabled()
    assert tracing.server_interceptors() == []
    assert tracing.client_interceptors() == []
    assert tracing.asgi_middleware() == []
    with tracing.step_span(
        task_with(TRACEPARENT),
        backend="noop",
        backend_version="1",
        queue="tti",
        message_id="m",
        delivery_count=1,
    ) as span:
        assert not span.is_recording()  # the API's no-op span: nothing is recorded or exported
        tracing.set_attributes({tracing.ATTEMPT: 1})
        tracing.mark_error("X", "y")
    assert tracing.job_trace_parent() is None


def test_the_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSETCORE_TRACING__OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("ASSETCORE_TRACING__SAMPLE_RATIO", "0.25")
    settings = Settings().tracing
    assert (settings.otlp_endpoint, settings.sample_ratio) == ("http://collector:4318", 0.25)
    assert tracing.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("https://otlp.example/v1/traces") == "https://otlp.example/v1/traces"


# --- the job's trace context --------------------------------------------------------------


def test_the_create_job_span_becomes_the_tasks_trace_context(spans: InMemorySpanExporter) -> None:
    with tracing.tracer().start_as_current_span("CreateJob") as create:
        stored = tracing.job_trace_parent()  # what the orchestrator writes to jobs.trace_parent
    assert stored is not None and len(stored) <= 60  # the column is String(60)
    context = create.get_span_context()
    assert stored == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert context.trace_flags.sampled

    task = task_with(stored)
    assert dict(task.trace_context) == {"traceparent": stored}
    decoded = step_pb2.StepTask.FromString(task.SerializeToString())
    parent = trace.get_current_span(tracing.task_context(decoded)).get_span_context()
    assert (parent.trace_id, parent.span_id, parent.is_remote) == (context.trace_id, context.span_id, True)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",
    ],
)
def test_a_missing_or_invalid_trace_parent_leaves_the_task_without_context(value: str | None) -> None:
    task = task_with(TRACEPARENT)
    tracing.set_task_trace(task, value)
    assert dict(task.trace_context) == {}
    assert not trace.get_current_span(tracing.task_context(task)).get_span_context().is_valid


def test_sqs_messages_carry_the_trace_as_attributes() -> None:
    task = task_with(TRACEPARENT)
    task.trace_context["tracestate"] = "vendor=abc"
    params = trace_attributes(task.SerializeToString())
    assert params["MessageAttributes"] == {
        "traceparent": {"DataType": "String", "StringValue": TRACEPARENT},
        "tracestate": {"DataType": "String", "StringValue": "vendor=abc"},
    }
    assert params["MessageSystemAttributes"] == {
        "AWSTraceHeader": {
            "DataType": "String",
            "StringValue": "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1",
        }
    }
    # No trace, or a body that is not a StepTask: a plain message.
    assert trace_attributes(task_with(None).SerializeToString()) == {}
    assert trace_attributes(b"\xff\x00 not protobuf") == {}
    assert trace_attributes(b"") == {}


def test_xray_header_keeps_the_sampling_decision() -> None:
    unsampled = TRACEPARENT[:-2] + "00"
    assert tracing.xray_trace_header(unsampled) == (
        "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=0"
    )
    assert tracing.xray_trace_header("nonsense") is None


# --- the worker's span ----------------------------------------------------------------------


def test_the_step_span_continues_the_jobs_trace(spans: InMemorySpanExporter) -> None:
    with tracing.step_span(
        task_with(TRACEPARENT),
        backend="noop",
        backend_version="1.0",
        queue="tti",
        message_id="m-1",
        delivery_count=2,
    ):
        tracing.set_attributes({tracing.ATTEMPT: 2, tracing.ATTEMPT_ID: "att_1"})
        tracing.mark_error("BAD_INPUT", "no prompt")
    [span] = spans.get_finished_spans()
    assert span.name == "step tti" and span.kind is SpanKind.CONSUMER
    assert f"{trace_id(span):032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert parent_of(span) == int("b7ad6b7169203331", 16)
    expected = {
        "assetcore.job.id": "job_1",
        "assetcore.step.name": "tti",
        "assetcore.step.id": "stp_1",
        "assetcore.step.generation": 2,
        "assetcore.backend.name": "noop",
        "assetcore.backend.version": "1.0",
        "assetcore.step.attempt": 2,
        "assetcore.step.attempt_id": "att_1",
        "assetcore.error.code": "BAD_INPUT",
        "messaging.message.delivery_count": 2,
    }
    assert dict(span.attributes or {}).items() >= expected.items()
    assert not span.status.is_ok


async def test_backend_threads_report_progress_inside_the_span(spans: InMemorySpanExporter) -> None:
    """The executor runs backends in a thread pool; their progress coroutines (ReportProgress)
    must still see the step's span, or each report would start a trace of its own."""
    loop = asyncio.get_running_loop()
    seen: list[trace.SpanContext] = []

    async def report() -> None:
        seen.append(trace.get_current_span().get_span_context())

    def backend() -> str:
        asyncio.run_coroutine_threadsafe(report(), loop).result(timeout=5)
        return threading.current_thread().name

    with ThreadPoolExecutor(1) as pool, tracing.child_span("run backend") as span:
        name = await loop.run_in_executor(pool, tracing.in_context(backend))
    assert name != threading.current_thread().name
    assert seen == [span.get_span_context()]


# --- gRPC and HTTP propagation -------------------------------------------------------------


async def _echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    with tracing.child_span("handler work"):
        return request


def _register_echo(server: grpc.aio.Server) -> None:
    handler = grpc.method_handlers_generic_handler(
        "test.Echo", {"Call": grpc.unary_unary_rpc_method_handler(_echo)}
    )
    server.add_generic_rpc_handlers((handler,))


async def test_grpc_calls_carry_the_trace_to_the_server(spans: InMemorySpanExporter) -> None:
    server = GrpcServer(["test.Echo"], _register_echo)
    port = await server.start("127.0.0.1:0")
    await server.set_serving(True)
    channel = open_channel(f"127.0.0.1:{port}")
    try:
        with tracing.tracer().start_as_current_span("worker step"):
            assert await channel.unary_unary("/test.Echo/Call")(b"hi") == b"hi"
        # Health checks are plumbing: no spans.
        health = channel.unary_unary("/grpc.health.v1.Health/Check")
        await health(b"")
    finally:
        await channel.close()
        await server.stop(0)
    names = [s.name for s in spans.get_finished_spans()]
    assert sorted(names) == sorted(["worker step", "/test.Echo/Call", "/test.Echo/Call", "handler work"])
    finished = spans.get_finished_spans()
    step = next(s for s in finished if s.name == "worker step")
    client = next(s for s in finished if s.name == "/test.Echo/Call" and s.kind is SpanKind.CLIENT)
    served = next(s for s in finished if s.name == "/test.Echo/Call" and s.kind is SpanKind.SERVER)
    work = next(s for s in finished if s.name == "handler work")
    assert {trace_id(s) for s in finished} == {trace_id(step)}
    assert parent_of(client) == span_id(step)
    assert parent_of(served) == span_id(client)
    assert parent_of(work) == span_id(served)


async def test_the_gateway_continues_an_incoming_trace(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    from gateway.app import create_app

    app = create_app(Settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        assert (await client.get("/healthz")).status_code == 200
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"traceparent": TRACEPARENT}
        )
        assert response.status_code == 200
    [span] = spans.get_finished_spans()  # /healthz is not traced
    assert span.kind is SpanKind.SERVER and span.name.startswith("POST")
    assert f"{trace_id(span):032x}" == TRACEPARENT.split("-")[1]
    assert parent_of(span) == int(TRACEPARENT.split("-")[2], 16)
