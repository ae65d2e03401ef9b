"""Client channels: call defaults (bearer token, deadlines, wait-for-ready) and retry policy.

`CallDefaults` is a client interceptor that fills in what a call does not say itself: the
channel's bearer token (a call's own `authorization` metadata wins, so the gateway can forward
each request's key), a deadline, and wait-for-ready, per method or by default. Retries are
gRPC's own, declared in the channel's service config (`retry_service_config`): only calls
that never reached a handler's response are retried, with exponential backoff.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from assetcore.telemetry import tracing

# Generous message limits: step results carry artifact lists, never file bytes.
CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
]
# Clients reconnect quickly after a server restart (gRPC's default backoff grows to 120 s).
CLIENT_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.enable_retries", 1),
    ("grpc.service_config_disable_resolution", 1),  # the service config is ours, not DNS's
]


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def token_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[len("Bearer ") :].strip()
    return None


def method_path(service: str, method: str) -> str:
    """The full path of a method, as interceptors see it: /package.Service/Method."""
    return f"/{service}/{method}"


@dataclass(frozen=True)
class MethodDefaults:
    """What a call gets when it does not set it: a deadline (seconds from the call) and wait_for_ready."""

    timeout_s: float | None = None
    wait_for_ready: bool | None = None


class CallDefaults:
    """Adds the bearer token and per-method (else default) deadlines and wait-for-ready.

    `unary` applies to unary calls, `streaming` to server-streaming ones (a live stream usually
    has no deadline); `methods` (by full path) overrides both. Install `interceptors()`: grpc.aio
    files an interceptor under one kind only, so each kind gets its own object.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        unary: MethodDefaults = MethodDefaults(),
        streaming: MethodDefaults = MethodDefaults(),
        methods: Mapping[str, MethodDefaults] | None = None,
    ) -> None:
        self._token = token
        self._unary = unary
        self._streaming = streaming
        self._methods = dict(methods or {})

    def interceptors(self) -> list[Any]:
        return [_UnaryDefaults(self), _StreamDefaults(self)]

    def details(self, details: Any, streaming: bool) -> Any:
        """The call's details with the defaults filled in."""
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        defaults = self._methods.get(method, self._streaming if streaming else self._unary)
        metadata = grpc.aio.Metadata.from_tuple(tuple(details.metadata or ()))
        if self._token and "authorization" not in metadata:
            metadata.add("authorization", f"Bearer {self._token}")
        return grpc.aio.ClientCallDetails(
            method=details.method,
            timeout=details.timeout if details.timeout is not None else defaults.timeout_s,
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready
            if details.wait_for_ready is not None
            else defaults.wait_for_ready,
        )


class _UnaryDefaults(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]  # grpc is untyped
    def __init__(self, defaults: CallDefaults) -> None:
        self._defaults = defaults

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._defaults.details(client_call_details, streaming=False), request)


class _StreamDefaults(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, defaults: CallDefaults) -> None:
        self._defaults = defaults

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._defaults.details(client_call_details, streaming=True), request)


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC's retryPolicy (gRFC A6). gRPC caps max_attempts at 5."""

    max_attempts: int = 5
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 5.0
    multiplier: float = 2.0
    codes: Sequence[str] = ("UNAVAILABLE",)


def retry_service_config(service: str, methods: Iterable[str], policy: RetryPolicy = RetryPolicy()) -> str:
    """A service config (JSON) retrying `methods` of `service` by `policy`."""
    config = {
        "methodConfig": [
            {
                "name": [{"service": service, "method": m} for m in methods],
                "retryPolicy": {
                    "maxAttempts": policy.max_attempts,
                    "initialBackoff": f"{policy.initial_backoff_s}s",
                    "maxBackoff": f"{policy.max_backoff_s}s",
                    "backoffMultiplier": policy.multiplier,
                    "retryableStatusCodes": list(policy.codes),
                },
            }
        ]
    }
    return json.dumps(config)


def open_channel(
    address: str,
    *,
    interceptors: Sequence[Any] = (),
    service_config: str | None = None,
) -> grpc.aio.Channel:
    options = [*CHANNEL_OPTIONS, *CLIENT_OPTIONS]
    if service_config is not None:
        options.append(("grpc.service_config", service_config))
    chain = [*tracing.client_interceptors(), *interceptors]  # tracing first: its metadata passes on
    return grpc.aio.insecure_channel(address, options=options, interceptors=chain or None)
