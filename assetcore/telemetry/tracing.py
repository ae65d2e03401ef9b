"""Distributed tracing with OpenTelemetry: one trace per job, from the gateway to the last step.

The path of a job's trace context:
  gateway (ASGI server span) --gRPC metadata--> orchestrator CreateJob (server span)
  --jobs.trace_parent--> every StepTask of the job (`trace_context`; on SQS also message
  attributes) --> the worker's step span (one per step attempt), inside which StartStep,
  ReportProgress, CompleteStep and FailStep run, so the orchestrator's server spans for them
  join the same trace.

Off by default. `configure_tracing(service, settings.tracing)` runs once per process (the
`assetcore serve NAME` entry point); without `otlp_endpoint` it installs nothing: the API's
no-op tracer answers every span, no interceptor or middleware is added and nothing is
exported. With it, spans go in batches to an OTLP/HTTP (protobuf) collector, e.g. the AWS
Distro for OpenTelemetry collector or Jaeger; the standard OTEL_BSP_* and
OTEL_EXPORTER_OTLP_* variables (batch delay, headers, compression) still apply.

The orchestrator calls two functions: `job_trace_parent()` while handling CreateJob, whose
result it stores in jobs.trace_parent, and `set_task_trace(task, job["trace_parent"])` on
every StepTask it builds.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from assetcore.proto.v1 import step_pb2

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from assetcore.config import TracingSettings

T = TypeVar("T")

TRACER_NAME = "assetcore"
SERVICE_NAMESPACE = "assetcore"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# W3C trace context, version 00: version-traceid-parentid-flags (55 characters).
TRACEPARENT_RE = re.compile(r"00-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-([0-9a-f]{2})")
MAX_TRACESTATE = 512  # W3C: 32 list members; keep message attributes small

# Step span attributes (names under the `assetcore.` namespace, as OpenTelemetry recommends).
JOB_ID = "assetcore.job.id"
TENANT_ID = "assetcore.tenant.id"
STEP_NAME = "assetcore.step.name"
STEP_ID = "assetcore.step.id"
STEP_GENERATION = "assetcore.step.generation"
ATTEMPT = "assetcore.step.attempt"
ATTEMPT_ID = "assetcore.step.attempt_id"
BACKEND = "assetcore.backend.name"
BACKEND_VERSION = "assetcore.backend.version"
CACHE_HIT = "assetcore.step.cache_hit"
OUTCOME = "assetcore.step.outcome"
ERROR_CODE = "assetcore.error.code"

_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None
_w3c = TraceContextTextMapPropagator()


# ---------------------------------------------------------------------- process setup


def configure_tracing(service: str, settings: TracingSettings) -> bool:
    """Install tracing for this process (the first call wins); True when spans are exported.

    `service` is the deployable's name (gateway, orchestrator, a step name, or worker): the
    OpenTelemetry service.name of every span this process makes.
    """
    if _provider is not None:
        return True
    if not settings.otlp_endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create(
        {
            "service.name": service,
            "service.namespace": SERVICE_NAMESPACE,
            "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
        }
    )
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio))
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint)))
    )
    use_provider(provider)
    trace.set_tracer_provider(provider)  # for any library that traces through the global API
    return True


def use_provider(provider: TracerProvider | None) -> None:
    """Make `provider` this process's tracer provider (None: tracing off). Tests use it directly."""
    global _provider, _tracer
    _provider = provider
    _tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None


def tracing_enabled() -> bool:
    return _provider is not None


def shutdown_tracing() -> None:
    """Flush and stop the exporter (it also runs at interpreter exit)."""
    if _provider is not None:
        _provider.shutdown()


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector: a bare base URL gets the standard /v1/traces."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def tracer() -> trace.Tracer:
    """This process's tracer: the SDK's when tracing is configured, else the API's (a no-op)."""
    return _tracer if _tracer is not None else trace.get_tracer(TRACER_NAME)


# ---------------------------------------------------------------------- gRPC and HTTP


def _not_plumbing() -> Callable[[Any], bool]:
    """A call filter: health checks and reflection are polled constantly, no spans for them."""
    from opentelemetry.instrumentation.grpc import filters

    check: Callable[[Any], bool] = filters.negate(
        filters.any_of(filters.health_check(), filters.service_prefix("grpc.reflection."))
    )
    return check


def server_interceptors() -> list[Any]:
    """gRPC aio server interceptors: a server span per call, continuing the caller's trace."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    interceptor = aio_server_interceptor(  # type: ignore[no-untyped-call]
        tracer_provider=_provider, filter_=_not_plumbing()
    )
    return [interceptor]


def client_interceptors() -> list[Any]:
    """gRPC aio channel interceptors: a client span per call, its context sent in the metadata."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    interceptors: list[Any] = aio_client_interceptors(  # type: ignore[no-untyped-call]
        tracer_provider=_provider, filter_=_not_plumbing()
    )
    return interceptors


def asgi_middleware() -> list[Any]:
    """Starlette middleware (for `Starlette(middleware=...)`): a server span per HTTP request or
    WebSocket connection, continuing a `traceparent` header. /healthz is not traced."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from starlette.middleware import Middleware

    return [
        Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=_provider,
            excluded_urls="healthz",
            exclude_spans=["receive", "send"],  # not a span per WebSocket message
        )
    ]


# ---------------------------------------------------------------------- the job's trace context


def valid_traceparent(value: str | None) -> str | None:
    return value if value and TRACEPARENT_RE.fullmatch(value) else None


def job_trace_parent() -> str | None:
    """The W3C traceparent of the current span, to store as jobs.trace_parent (CreateJob calls it
    inside its server span); None when there is no valid span (tracing off, no caller trace)."""
    carrier: dict[str, str] = {}
    _w3c.inject(carrier)
    return valid_traceparent(carrier.get(TRACEPARENT))


def set_task_trace(task: step_pb2.StepTask, trace_parent: str | None) -> None:
    """Copy the job's trace context onto a StepTask (a no-op for a job without one)."""
    task.trace_context.clear()
    if (value := valid_traceparent(trace_parent)) is not None:
        task.trace_context[TRACEPARENT] = value


def task_context(task: step_pb2.StepTask) -> Context:
    """The job's trace context carried by a task, as the parent of the worker's span."""
    return propagate.extract(dict(task.trace_context))


def trace_headers(task_body: bytes) -> dict[str, str]:
    """`traceparent` (and `tracestate`) of a serialized StepTask; {} for a body without them or
    one that is not a StepTask. Queues copy these into message attributes."""
    try:
        carrier = step_pb2.StepTask.FromString(task_body).trace_context
    except Exception:  # DecodeError, or bytes that are not ours at all
        return {}
    traceparent = valid_traceparent(carrier.get(TRACEPARENT))
    if traceparent is None:
        return {}
    headers = {TRACEPARENT: traceparent}
    tracestate = carrier.get(TRACESTATE, "")
    if tracestate and len(tracestate) <= MAX_TRACESTATE and tracestate.isprintable():
        headers[TRACESTATE] = tracestate
    return headers


def xray_trace_header(traceparent: str) -> str | None:
    """The AWS X-Ray form of a W3C traceparent (SQS's AWSTraceHeader system attribute):
    `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`, as OpenTelemetry's X-Ray
    propagator writes it."""
    match = TRACEPARENT_RE.fullmatch(traceparent)
    if match is None:
        return None
    trace_id, span_id, flags = match.groups()
    sampled = int(flags, 16) & 1
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={span_id};Sampled={sampled}"


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex), for log lines and metric records."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


# ---------------------------------------------------------------------- worker spans


@contextlib.contextmanager
def step_span(
    task: step_pb2.StepTask,
    *,
    backend: str,
    backend_version: str,
    queue: str,
    message_id: str,
    delivery_count: int,
) -> Iterator[Span]:
    """The span of one step attempt (a CONSUMER span, child of the job's trace): StartStep,
    the run, and CompleteStep or FailStep all happen inside it. Exceptions mark it as an error."""
    if _provider is None:  # tracing off: not even a no-op span to build
        yield trace.INVALID_SPAN
        return
    attributes: dict[str, str | int] = {
        JOB_ID: task.job_id,
        TENANT_ID: task.tenant_id,
        STEP_NAME: task.step_name,
        STEP_ID: task.step_id,
        STEP_GENERATION: task.generation,
        BACKEND: backend,
        BACKEND_VERSION: backend_version,
        "messaging.operation.type": "process",
        "messaging.destination.name": queue,
        "messaging.message.id": message_id,
        "messaging.message.delivery_count": delivery_count,
    }
    with tracer().start_as_current_span(
        f"step {task.step_name}", context=task_context(task), kind=SpanKind.CONSUMER, attributes=attributes
    ) as current:
        yield current


def set_attributes(attributes: Mapping[str, str | int | float | bool]) -> None:
    """Set attributes on the current span (nothing when it does not record)."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(dict(attributes))


def mark_error(code: str, message: str) -> None:
    """Mark the current span failed with a step error code (the step failed, nothing raised)."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attribute(ERROR_CODE, code)
        current.set_status(Status(StatusCode.ERROR, f"{code}: {message}"[:500]))


@contextlib.contextmanager
def child_span(name: str, attributes: Mapping[str, str | int | float | bool] | None = None) -> Iterator[Span]:
    """An internal child span of the current one."""
    if _provider is None:
        yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(name, attributes=dict(attributes or {})) as current:
        yield current


def in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` bound to the caller's context (the current span), for running in another thread:
    `loop.run_in_executor` does not carry contextvars, so without it a backend's progress
    reports would start traces of their own."""
    context = contextvars.copy_context()

    def run(*args: Any) -> T:
        return context.run(fn, *args)

    return run
