"""Client channels: per-method call policies (`MethodPolicy`: deadline, wait-for-ready, retries;
retries in the channel's service config) and the bearer token each call carries (`bearer`).

Retries are gRPC's own (gRFC A6): only calls that failed before a handler answered are
retried, with exponential backoff. The clients (the gateway's and CLI's OrchestratorApi, the
worker's OrchestratorClient) pass each call its caller's credential as metadata: the gateway
forwards each request's own key.
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


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC's retryPolicy (gRFC A6). gRPC caps max_attempts at 5."""

    max_attempts: int = 5
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 5.0
    multiplier: float = 2.0
    codes: Sequence[str] = ("UNAVAILABLE",)


@dataclass(frozen=True)
class MethodPolicy:
    """How calls of a method behave: a deadline, wait-for-ready (wait for the channel to connect
    instead of failing fast) and a retry policy.

    The retry policy goes into the channel's service config (`service_config`); the deadline
    and wait-for-ready go on each call (`call_options`): grpc 1.85's service-config `timeout`
    expired calls at once here (measured), and a client interceptor that adds them costs about
    0.1 ms a call in grpc.aio."""

    timeout_s: float | None = None
    wait_for_ready: bool | None = None
    retry: RetryPolicy | None = None

    def call_options(self) -> dict[str, Any]:
        return {"timeout": self.timeout_s, "wait_for_ready": self.wait_for_ready}


def service_config(service: str, policies: Mapping[str, MethodPolicy]) -> str:
    """The channel's service config (JSON): the retry policy of each named method of `service`."""
    by_retry: dict[RetryPolicy, list[str]] = {}
    for method, policy in policies.items():
        if policy.retry is not None:
            by_retry.setdefault(policy.retry, []).append(method)
    return json.dumps(
        {
            "methodConfig": [
                {
                    "name": [{"service": service, "method": m} for m in methods],
                    "retryPolicy": {
                        "maxAttempts": retry.max_attempts,
                        "initialBackoff": f"{retry.initial_backoff_s}s",
                        "maxBackoff": f"{retry.max_backoff_s}s",
                        "backoffMultiplier": retry.multiplier,
                        "retryableStatusCodes": list(retry.codes),
                    },
                }
                for retry, methods in by_retry.items()
            ]
        }
    )


def open_channel(address: str, *, config: str | None = None) -> grpc.aio.Channel:
    """A client channel; `config`: its service config (service_config()). Tracing, when on, is
    its only interceptor."""
    options = [*CHANNEL_OPTIONS, *CLIENT_OPTIONS]
    if config is not None:
        options.append(("grpc.service_config", config))
    interceptors = tracing.client_interceptors()
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors or None)
