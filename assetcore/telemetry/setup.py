"""Per-process telemetry of a deployable: tracing (when configured) and EMF metric lines."""

from __future__ import annotations

from assetcore.config import Settings
from assetcore.telemetry import emf
from assetcore.telemetry.tracing import configure_tracing


def configure_telemetry(service: str, settings: Settings) -> None:
    """Call once at the start of `assetcore serve NAME` / `assetcore worker`, before any gRPC
    server, channel or ASGI app is built (they pick their interceptors up at construction)."""
    configure_tracing(service, settings.tracing)
    emf.enable()
